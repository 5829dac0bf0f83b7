package io.wsgateway.redis;

/**
 * Counters of a {@link RedisConnectionRegistry}'s near cache of user lookups.
 *
 * @param active whether the cache answers lookups now: configured on, and Redis tracking this
 *     registry's reads (false while the connection is down, with Redis Cluster, or when turned off)
 * @param hits lookups answered from the cache
 * @param misses lookups that went to Redis while the cache was active
 * @param invalidations keys Redis reported changed (each key of a push counts once; a flush once)
 * @param entries users cached now
 */
public record NearCacheStats(boolean active, long hits, long misses, long invalidations, int entries) {}
