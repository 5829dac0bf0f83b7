package io.wsgateway.redis;

import io.wsgateway.redis.internal.RedisRegistryImpl;
import io.wsgateway.registry.ConnectionRegistry;
import java.util.concurrent.CompletionStage;

/**
 * A {@link ConnectionRegistry} kept in Redis, shared by every gateway instance that points at the
 * same Redis and key prefix. The data model and its costs are described in {@code docs/registry.md}.
 *
 * <p>Thread-safe; share one per JVM. No method blocks: each sends its commands on one shared,
 * pipelined connection and returns a stage that completes on a Lettuce I/O thread, so callbacks on
 * it must not block either. While Redis is unreachable every call fails at once (or after {@link
 * RedisRegistryOptions#commandTimeout()}) with {@code registry_unavailable}; when Redis is back, the
 * registry re-registers the connections of its attached instances. Its creator closes it, after the
 * gateways that use it; closing does not mark instances gone, their liveness simply lapses.
 *
 * <p>An instance must {@link #attach attach} before it registers connections; registering for an
 * instance not attached through this registry fails with {@link IllegalStateException}.
 */
public interface RedisConnectionRegistry extends ConnectionRegistry {

  /**
   * Connects to Redis, waiting up to {@link RedisRegistryOptions#connectTimeout()}, and returns the
   * registry. Fails with a {@link io.wsgateway.GatewayException} of code {@code
   * registry_unavailable} if Redis cannot be reached.
   */
  static RedisConnectionRegistry create(RedisRegistryOptions options) {
    return RedisRegistryImpl.connect(options);
  }

  /** The options this registry was created with. */
  RedisRegistryOptions options();

  /**
   * How many times this registry re-registered an attached instance's connections because Redis
   * lost them (an outage, a failover, a lapsed liveness key). For metrics and tests.
   */
  long resyncCount();

  /**
   * The near cache's counters since creation (see {@link RedisRegistryOptions.Builder#nearCacheMaxEntries}):
   * whether it is answering now, its hits and misses, the invalidations Redis sent, and its size.
   */
  NearCacheStats nearCacheStats();

  /**
   * Runs one heartbeat now: refreshes the liveness keys of the attached instances and this
   * registry's view of the live instances. The scheduler runs this every heartbeat interval.
   */
  CompletionStage<Void> heartbeat();

  /**
   * Removes the entries of instances whose liveness lapsed, now; completes with the number of
   * entries removed. The scheduler runs this every sweep interval.
   */
  CompletionStage<Long> sweep();
}
