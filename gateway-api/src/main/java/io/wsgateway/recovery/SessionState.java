package io.wsgateway.recovery;

import java.util.Set;

/**
 * A session as a claim found it.
 *
 * @param known whether the session exists (false: expired, unknown, or another user's)
 * @param lastSeq the sequence number of its newest message (0 if none)
 * @param subscriptions its topic subscriptions
 * @param previousOwner the owner before this claim, or {@code null}
 */
public record SessionState(boolean known, long lastSeq, Set<String> subscriptions, String previousOwner) {
  public SessionState {
    subscriptions = Set.copyOf(subscriptions);
  }

  /** The state of a session that cannot be resumed. */
  public static SessionState unknown() {
    return new SessionState(false, 0, Set.of(), null);
  }
}
