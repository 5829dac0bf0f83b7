package io.wsgateway.recovery;

/**
 * A session as a create, claim or restore left it.
 *
 * @param known whether the session exists (false: expired, evicted, unknown, or another user's)
 * @param lastSeq the sequence number of its newest message (0 if none)
 * @param previousOwner the connection that owned it before a claim, or {@code null} (detached, new)
 * @param attached whether {@code previousOwner} was still attached when the claim took the session
 *     over (a live connection elsewhere that now has to go)
 * @param epoch the session stream's epoch (see {@link RecoveryStore})
 */
public record SessionState(boolean known, long lastSeq, String previousOwner, boolean attached, long epoch) {

  private static final SessionState UNKNOWN = new SessionState(false, 0, null, false, 0);

  /** The state of a session that cannot be resumed. */
  public static SessionState unknown() {
    return UNKNOWN;
  }
}
