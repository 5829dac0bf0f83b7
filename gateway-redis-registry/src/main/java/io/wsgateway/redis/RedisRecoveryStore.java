package io.wsgateway.redis;

import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.redis.internal.RedisRecoveryStoreImpl;

/**
 * A {@link RecoveryStore} kept in Redis, so a client can resume its session on any gateway instance
 * that points at the same Redis and key prefix, and every instance appends to one ordered stream.
 *
 * <p>Everything of one user lives under the user's hash tag: a sorted set {@code
 * <prefix>us:{<user>}} of the user's session ids (oldest first), and per session a hash {@code
 * <prefix>s:{<user>}:<sessionId>} (seq, epoch, owner) and a list {@code ...:log} of its last
 * messages. Everything of one topic lives under the topic's: {@code <prefix>t:{<topic>}} (offset,
 * epoch) and {@code ...:log}. Every call is one round trip: one Lua script, sent by EVALSHA on one
 * shared, pipelined connection, so calls issued one after another take effect in that order; after
 * Redis lost its scripts (restart, failover, SCRIPT FLUSH) the store reloads them and sends the
 * calls that failed again, still in order. A call that timed out is never sent again by the store.
 * An {@link #appendToUser} reads the user's sessions inside its script: standalone Redis or
 * Sentinel, not Redis Cluster.
 *
 * <p>Session ids name keys, so they must not be empty nor hold {@code ':'} or {@code '}'} (the
 * gateway's are URL-safe base64): {@link #create} and {@link #restore} fail with an {@link
 * IllegalArgumentException}, the other calls find no such session.
 *
 * <p>Thread-safe; share one per JVM. No method blocks except {@link #create(RedisRecoveryOptions)}:
 * each returns a stage that completes on a Lettuce I/O thread, so callbacks on it must not block
 * either. When Redis cannot be reached, or does not answer within {@link
 * RedisRecoveryOptions#commandTimeout()}, stages fail with a {@link io.wsgateway.GatewayException}
 * of code {@link io.wsgateway.ErrorCodes#STORE_UNAVAILABLE}. Its creator closes it, after the
 * gateways that use it.
 */
public interface RedisRecoveryStore extends RecoveryStore {

  /**
   * Connects to Redis, waiting up to {@link RedisRecoveryOptions#connectTimeout()}, loads the
   * store's scripts and returns the store. Fails with a {@link io.wsgateway.GatewayException} of code
   * {@link io.wsgateway.ErrorCodes#STORE_UNAVAILABLE} if Redis cannot be reached.
   */
  static RedisRecoveryStore create(RedisRecoveryOptions options) {
    return RedisRecoveryStoreImpl.connect(options);
  }

  /** The options this store was created with. */
  RedisRecoveryOptions options();
}
