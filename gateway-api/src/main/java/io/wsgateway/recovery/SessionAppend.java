package io.wsgateway.recovery;

/**
 * A message appended to one session.
 *
 * @param sessionId the session
 * @param seq the message's sequence number in the session's stream
 * @param owner the session's live connection, to deliver to now; {@code null} when the session is
 *     detached (its client reads the message when it resumes)
 * @param epoch the session stream's epoch
 */
public record SessionAppend(String sessionId, long seq, String owner, long epoch) {}
