package io.wsgateway.recovery;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Keeps, per session, the counter of its message stream and its most recent messages, so that a
 * client that reconnects within the recovery window gets exactly what it missed.
 *
 * <p>A session has one owner at a time (the instance and connection serving it); only the owner
 * appends (or an instance on behalf of an owner that is gone, naming it), which is how a session
 * that moved to another instance is never written twice. Appends of one session complete in the
 * order they were issued.
 *
 * <p>Implementations are thread-safe and never block; every stage fails with a {@link
 * io.wsgateway.GatewayException} of code {@link io.wsgateway.ErrorCodes#INTERNAL} or a
 * store-specific cause when the store cannot be reached. Memory is bounded by the per-session message
 * limit and by expiry. The creator closes the store, after the gateways that use it.
 */
public interface RecoveryStore extends AutoCloseable {

  /** Creates a new, empty session owned by {@code owner}. */
  CompletionStage<Void> create(String sessionId, String userId, String owner);

  /**
   * Makes {@code owner} the owner of an existing session of {@code userId}, so the previous owner's
   * appends fail from now on.
   *
   * @return the session's state, or {@link SessionState#unknown()} when it expired, never existed, or
   *     belongs to another user
   */
  CompletionStage<SessionState> claim(String sessionId, String userId, String owner);

  /**
   * Appends one message (its frame without the {@code seq}, see the protocol) if {@code owner} still
   * owns the session, and assigns it the next sequence number.
   *
   * @param messageId the message's id, kept so a resumed session can drop copies that reach it twice
   */
  CompletionStage<AppendResult> append(String sessionId, String owner, String messageId, byte[] message);

  /**
   * Reads the messages with sequence numbers after {@code afterSeq}, oldest first.
   *
   * @return the messages, or a backlog marked {@link Backlog#trimmed()} when some were already
   *     dropped by the per-session limit
   */
  CompletionStage<Backlog> read(String sessionId, long afterSeq);

  /**
   * The sessions of {@code userId} that can still be resumed (attached, or detached within the
   * window), each with its current owner. A message for a user whom no live instance holds goes to
   * these: appended by whoever finds the owner dead, or forwarded to the owner. That is how a client
   * whose instance died without a drain finds on resume what was sent to it meanwhile.
   *
   * @return session id to owner; empty when the user has none
   */
  CompletionStage<Map<String, String>> sessionsOf(String userId);

  /**
   * Records the session's topic subscriptions, restored on resume, if {@code owner} still owns the
   * session: a connection that lost its session to a resume elsewhere must not overwrite the topics
   * of the new one.
   */
  CompletionStage<Void> subscriptions(String sessionId, String owner, Set<String> topics);

  /**
   * The session's connection closed: it is kept for the recovery window from now, then forgotten,
   * unless claimed again.
   */
  CompletionStage<Void> detach(String sessionId, String owner);

  /** Releases resources. Idempotent. */
  @Override
  default void close() {}
}
