package io.wsgateway.recovery;

import java.util.List;

/**
 * Messages read from a session's stream.
 *
 * @param firstSeq the sequence number of {@code messages.get(0)} (the seq after the one asked for)
 * @param messages the messages, oldest first
 * @param status whether the stream continues after the seq asked for, and if not why
 */
public record Backlog(long firstSeq, List<StoredMessage> messages, Status status) {

  /** Whether a read could continue the stream. */
  public enum Status {
    /** {@code messages} are every message after the seq asked for. */
    COMPLETE,
    /** Messages after the seq asked for were already dropped by the session's limits. */
    TRIMMED,
    /** The store lost the session's history (restored after a loss) before the seq asked for. */
    LOST,
    /** The seq asked for is ahead of the session's newest message. */
    AHEAD,
    /** No such session (expired, evicted, never existed, or another user's). */
    UNKNOWN
  }

  public Backlog {
    messages = List.copyOf(messages);
  }

  /** A backlog that cannot continue after {@code afterSeq}. */
  public static Backlog broken(long afterSeq, Status status) {
    return new Backlog(afterSeq + 1, List.of(), status);
  }

  /** Whether the messages continue the stream after the seq asked for. */
  public boolean complete() {
    return status == Status.COMPLETE;
  }

  /** Whether the store lost the history asked for. */
  public boolean lost() {
    return status == Status.LOST;
  }
}
