package io.wsgateway.redis;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test run's corner of the shared Redis at 127.0.0.1:6379: a key prefix unique to the run, a
 * plain client to inspect or damage keys, and {@link #close()} deleting every key of the prefix
 * (SCAN + DEL; never FLUSHALL, the Redis is shared).
 */
final class RedisTestSupport implements AutoCloseable {

  static final String URI = "redis://127.0.0.1:6379";

  final String runPrefix = "wsgwtest:" + UUID.randomUUID() + ":";
  private final AtomicInteger stores = new AtomicInteger();
  private final RedisClient client = RedisClient.create(URI);
  private final StatefulRedisConnection<String, String> connection = client.connect();
  final RedisCommands<String, String> redis = connection.sync();

  /** A key prefix for a new, empty store inside this run's prefix. */
  String newStorePrefix() {
    return runPrefix + stores.incrementAndGet() + ":";
  }

  /** Options for tests: fast heartbeats so views converge in well under a second. */
  static RedisRegistryOptions.Builder testOptions(String prefix) {
    return RedisRegistryOptions.builder()
        .uri(URI)
        .keyPrefix(prefix)
        // CI shares two cores with Redis: a 1 s command timeout flaked under load.
        .commandTimeout(Duration.ofSeconds(5))
        .heartbeatInterval(Duration.ofMillis(100))
        .heartbeatTtl(Duration.ofSeconds(2))
        .sweepInterval(Duration.ofSeconds(1));
  }

  static String livenessKey(String prefix, String instanceId) {
    return prefix + "i:{" + instanceId + "}";
  }

  static String userKey(String prefix, String userId) {
    return prefix + "u:{" + userId + "}";
  }

  long deleteRunKeys() {
    return deleteKeys(runPrefix);
  }

  /** Deletes every key under {@code prefix} (inside this run's): SCAN + DEL. */
  long deleteKeys(String prefix) {
    if (!prefix.startsWith(runPrefix)) {
      throw new IllegalArgumentException("prefix: " + prefix + " (expected: under " + runPrefix + ")");
    }
    long deleted = 0;
    ScanCursor cursor = ScanCursor.INITIAL;
    do {
      KeyScanCursor<String> page = redis.scan(cursor, ScanArgs.Builder.matches(globEscape(prefix) + "*").limit(1000));
      if (!page.getKeys().isEmpty()) {
        deleted += redis.del(page.getKeys().toArray(String[]::new));
      }
      cursor = page;
    } while (!cursor.isFinished());
    return deleted;
  }

  /** {@code s} as a SCAN pattern that matches itself only. */
  static String globEscape(String s) {
    return s.replaceAll("([\\\\*?\\[\\]])", "\\\\$1");
  }

  @Override
  public void close() {
    try {
      deleteRunKeys();
    } finally {
      connection.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
