package io.wsgateway.recovery;

/**
 * The outcome of {@link RecoveryStore#append}.
 *
 * @param appended whether the message was appended (false: the session has another owner, or is gone)
 * @param seq the sequence number assigned, when appended
 * @param owner the session's current owner when not appended, or {@code null} if the session is gone
 */
public record AppendResult(boolean appended, long seq, String owner) {

  public static AppendResult appended(long seq) {
    return new AppendResult(true, seq, null);
  }

  public static AppendResult notOwner(String owner) {
    return new AppendResult(false, 0, owner);
  }
}
