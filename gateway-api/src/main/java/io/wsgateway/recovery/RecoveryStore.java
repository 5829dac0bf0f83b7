package io.wsgateway.recovery;

import java.util.concurrent.CompletionStage;

/**
 * Keeps what a client needs to resume without loss, and decides the order of what it is sent.
 *
 * <p>Two kinds of stream live here:
 * <ul>
 *   <li>a <b>session</b> stream per connection session: the direct messages to its user, numbered
 *       by {@code seq} from 1. A direct message is appended to every resumable session of its user
 *       by the instance that routes it ({@link #appendToUser}), and only then delivered to the live
 *       connections, which write it in {@code seq} order. A client that reconnects, to any
 *       instance, reads what it missed ({@link #read}).
 *   <li>a <b>topic</b> history: recent publications to a topic, numbered by {@code offset} within an
 *       {@code epoch} ({@link #appendToTopic}). Subscribers write them in offset order and a client
 *       that subscribes again with its last offset reads what it missed ({@link #readTopic}).
 * </ul>
 *
 * <p>The store is the one place where order is decided: appends of one caller, issued one after
 * another, take effect in that order (a Redis store sends them on one connection). A failed or
 * timed-out stage does not say whether the append took effect; the caller must not assume either.
 *
 * <p>A stream's {@code epoch} identifies one incarnation of it: it changes when the store lost the
 * stream's history (restarted empty, flushed, or expired), so numbers from an older epoch do not
 * continue this one.
 *
 * <p>Implementations are thread-safe and never block; every stage fails with a {@link
 * io.wsgateway.GatewayException} of code {@link io.wsgateway.ErrorCodes#STORE_UNAVAILABLE} when the
 * store cannot be reached. Memory is bounded: per session and per topic by message count and bytes,
 * per user by a number of sessions, and in time by expiry. The creator closes the store, after the
 * gateways that use it.
 */
public interface RecoveryStore extends AutoCloseable {

  // ---- sessions ----

  /**
   * Creates a new, empty session of {@code userId}, attached to its live connection {@code owner}.
   * When the user then has more sessions than the store allows, the oldest detached ones are
   * evicted (live ones never are).
   *
   * @return the new session's state: known, {@code lastSeq} 0, a fresh epoch
   */
  CompletionStage<SessionState> create(String userId, String sessionId, String owner);

  /**
   * Attaches an existing session of {@code userId} to the connection {@code owner}: from now on
   * appends name {@code owner} as the session's live connection.
   *
   * @return the session's state, with the owner it had before; {@link SessionState#unknown()} when
   *     it expired, was evicted, never existed, or belongs to another user
   */
  CompletionStage<SessionState> claim(String userId, String sessionId, String owner);

  /**
   * Re-creates a session the store lost (see {@link #incarnation()}) from its live connection, whose
   * client has received every message up to {@code lastSeq}: the stream continues after it in a new
   * epoch, and a read from before it reports the history {@link Backlog#lost() lost}. Leaves a
   * session the store still has as it is.
   *
   * @return the session's state
   */
  CompletionStage<SessionState> restore(String userId, String sessionId, String owner, long lastSeq);

  /**
   * The session's connection {@code owner} closed: the session is kept for the recovery window,
   * appended to without a live owner, then forgotten unless claimed again. Ignored if another
   * connection owns it by now.
   */
  CompletionStage<Void> detach(String userId, String sessionId, String owner);

  /**
   * Appends a direct message to every resumable session of {@code userId}, attached or detached.
   *
   * @param messageId the message's id, kept with it
   * @param frame the message frame without its {@code seq} (see docs/protocol.md); not modified
   * @param dedupe whether to look for {@code messageId} among each session's recent messages first
   *     (a message redelivered by a broker): if found, nothing is appended and the earlier append is
   *     reported as a {@link UserAppend#duplicate() duplicate}
   * @return where the message went; no sessions when the user has none
   */
  CompletionStage<UserAppend> appendToUser(String userId, String messageId, byte[] frame, boolean dedupe);

  /**
   * Appends a message to one session of {@code userId}, whether attached or not (deduplicated like
   * {@link #appendToUser} with {@code dedupe}). Used to re-append a message that was appended
   * before the store lost the session.
   *
   * @return the append, or {@code null} when the session is unknown
   */
  CompletionStage<SessionAppend> appendToSession(String userId, String sessionId, String messageId, byte[] frame);

  /**
   * Reads the session's messages with sequence numbers after {@code afterSeq}, oldest first.
   *
   * @return the messages, or a backlog that says why it cannot continue after {@code afterSeq}
   */
  CompletionStage<Backlog> read(String userId, String sessionId, long afterSeq);

  // ---- topics ----

  /**
   * Appends a publication to the topic's history, creating the history (in a new epoch) if it has
   * none.
   *
   * @param dedupe whether to look for {@code messageId} among the topic's recent messages first
   */
  CompletionStage<TopicAppend> appendToTopic(String topic, String messageId, byte[] frame, boolean dedupe);

  /**
   * The topic's latest offset and its epoch. A topic without history gets an empty one now, in a new
   * epoch (offset 0), so a subscriber always knows the epoch its offsets belong to.
   */
  CompletionStage<TopicPosition> topicPosition(String topic);

  /** Reads the topic's messages with offsets after {@code afterOffset} in its current epoch. */
  CompletionStage<TopicBacklog> readTopic(String topic, long afterOffset);

  // ---- the store itself ----

  /**
   * An identifier of the store's current contents, which changes when the store lost them (a Redis
   * that restarted empty or was flushed). Gateways compare it now and then and {@link #restore}
   * their live sessions when it changed.
   */
  CompletionStage<String> incarnation();

  /** Releases resources. Idempotent. */
  @Override
  default void close() {}
}
