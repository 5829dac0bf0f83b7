package io.wsgateway.redis;

import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.redis.internal.RedisRecoveryStoreImpl;

/**
 * A {@link RecoveryStore} kept in Redis, so a client can resume its session on any gateway instance
 * that points at the same Redis and key prefix.
 *
 * <p>Per session two keys, hash-tagged on the session id so they share a cluster slot: a hash (user,
 * owner, seq, subscriptions) and a list of its last {@link RedisRecoveryOptions#maxMessages()}
 * messages. Every call is one round trip: one Lua script, sent by EVALSHA on one shared, pipelined
 * connection. Per user one sorted set {@code <prefix>us:{<user>}} of the user's session ids (scored by
 * their last create or claim, pruned of sessions older than the attached TTL plus the window), which
 * {@link #sessionsOf} reads with one more round trip for the sessions' owners.
 *
 * <p>Thread-safe; share one per JVM. No method blocks except {@link #create}: each returns a stage
 * that completes on a Lettuce I/O thread, so callbacks on it must not block either. When Redis cannot
 * be reached, or does not answer within {@link RedisRecoveryOptions#commandTimeout()}, stages fail
 * with a {@link io.wsgateway.GatewayException} of code {@code internal}. Its creator closes it, after
 * the gateways that use it.
 */
public interface RedisRecoveryStore extends RecoveryStore {

  /**
   * Connects to Redis, waiting up to {@link RedisRecoveryOptions#connectTimeout()}, loads the
   * store's scripts and returns the store. Fails with a {@link io.wsgateway.GatewayException} of code
   * {@code internal} if Redis cannot be reached.
   */
  static RedisRecoveryStore create(RedisRecoveryOptions options) {
    return RedisRecoveryStoreImpl.connect(options);
  }

  /** The options this store was created with. */
  RedisRecoveryOptions options();
}
