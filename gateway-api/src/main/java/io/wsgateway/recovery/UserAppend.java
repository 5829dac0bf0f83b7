package io.wsgateway.recovery;

import java.util.List;

/**
 * Where {@link RecoveryStore#appendToUser} put a message.
 *
 * @param sessions one entry per session of the user that has the message; empty when the user has
 *     no resumable session
 * @param duplicate whether the message was found already appended (a redelivery): then {@code
 *     sessions} are where the earlier append put it, and nothing was appended now
 */
public record UserAppend(List<SessionAppend> sessions, boolean duplicate) {

  public UserAppend {
    sessions = List.copyOf(sessions);
  }
}
