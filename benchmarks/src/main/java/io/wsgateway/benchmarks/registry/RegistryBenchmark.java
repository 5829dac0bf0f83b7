package io.wsgateway.benchmarks.registry;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.wsgateway.benchmarks.AbstractBenchmark;
import io.wsgateway.redis.RedisConnectionRegistry;
import io.wsgateway.redis.RedisRegistryOptions;
import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InMemoryConnectionRegistry;
import io.wsgateway.registry.InstanceContext;
import io.wsgateway.registry.Presence;
import io.wsgateway.registry.RegisteredConnection;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Throughput of the connection registry: register+unregister pairs per second and lookups per
 * second, with {@link #IN_FLIGHT} asynchronous calls in flight per benchmark thread (so Lettuce
 * pipelines them on its one connection). The in-memory registry is the baseline beside Redis;
 * {@code redis} runs with the default near cache (lookups of users read before are answered in
 * memory), {@code redis-no-cache} without it (every lookup a Redis round trip).
 *
 * <p>Redis: the shared server at 127.0.0.1:6379 (override with {@code -Dwsgw.redis.uri=...}); keys
 * under a per-trial prefix, deleted at teardown (SCAN + DEL).
 */
@State(Scope.Benchmark)
@Threads(2)
public class RegistryBenchmark extends AbstractBenchmark {

  /** Asynchronous calls issued together per benchmark invocation and thread. */
  static final int IN_FLIGHT = 256;
  /** Users registered once at setup, one connection each, for the lookups. */
  static final int USERS = 100_000;

  @Param({"in-memory", "redis", "redis-no-cache"})
  public String registry;

  private ConnectionRegistry r;
  private String prefix;
  private final AtomicInteger threads = new AtomicInteger();

  @Setup(Level.Trial)
  public void setUp() {
    if (registry.startsWith("redis")) {
      prefix = "wsgwbench:" + UUID.randomUUID() + ":";
      r = RedisConnectionRegistry.create(RedisRegistryOptions.builder()
          .uri(System.getProperty("wsgw.redis.uri", "redis://127.0.0.1:6379"))
          .keyPrefix(prefix)
          .nearCacheMaxEntries(registry.equals("redis-no-cache") ? 0
              : RedisRegistryOptions.DEFAULT_NEAR_CACHE_MAX_ENTRIES)
          .build());
    } else {
      r = InMemoryConnectionRegistry.create();
    }
    r.attach(new Instance("bench-lookups")).toCompletableFuture().join();
    for (int from = 0; from < USERS; from += 1_000) {
      CompletableFuture<?>[] batch = new CompletableFuture<?>[1_000];
      for (int i = 0; i < batch.length; i++) {
        int u = from + i;
        batch[i] = r.register(new RegisteredConnection("lc-" + u, "lu-" + u, "bench-lookups"))
            .toCompletableFuture();
      }
      CompletableFuture.allOf(batch).join();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    r.close();
    if (prefix != null) {
      deleteKeys(System.getProperty("wsgw.redis.uri", "redis://127.0.0.1:6379"), prefix);
    }
  }

  /** Per benchmark thread: its own instance and connection ids, so pairs never collide. */
  @State(Scope.Thread)
  public static class PerThread {
    String instanceId;
    RegisteredConnection[] connections;
    String[] lookupUsers;
    int next;

    @Setup(Level.Trial)
    public void setUp(RegistryBenchmark b) {
      instanceId = "bench-" + b.threads.incrementAndGet();
      b.r.attach(new Instance(instanceId)).toCompletableFuture().join();
      connections = new RegisteredConnection[IN_FLIGHT];
      for (int i = 0; i < IN_FLIGHT; i++) {
        connections[i] = new RegisteredConnection(instanceId + "-c" + i, "pu-" + instanceId + "-" + i, instanceId);
      }
      lookupUsers = new String[USERS];
      for (int u = 0; u < USERS; u++) {
        lookupUsers[u] = "lu-" + u;
      }
      next = instanceId.hashCode() & 0xffff;
    }
  }

  /** IN_FLIGHT registrations, then their IN_FLIGHT unregistrations; one operation = one pair. */
  @Benchmark
  @OperationsPerInvocation(IN_FLIGHT)
  public int registerUnregisterPairs(PerThread t) {
    CompletableFuture<?>[] stages = new CompletableFuture<?>[IN_FLIGHT];
    for (int i = 0; i < IN_FLIGHT; i++) {
      stages[i] = r.register(t.connections[i]).toCompletableFuture();
    }
    CompletableFuture.allOf(stages).join(); // throws if any failed
    for (int i = 0; i < IN_FLIGHT; i++) {
      stages[i] = r.unregister(t.connections[i]).toCompletableFuture();
    }
    CompletableFuture.allOf(stages).join();
    return stages.length;
  }

  /** IN_FLIGHT presence lookups of pre-registered users; each must find its one connection. */
  @Benchmark
  @OperationsPerInvocation(IN_FLIGHT)
  public int lookups(PerThread t) {
    @SuppressWarnings("unchecked")
    CompletableFuture<Presence>[] stages = new CompletableFuture[IN_FLIGHT];
    int start = t.next;
    for (int i = 0; i < IN_FLIGHT; i++) {
      stages[i] = r.presence(t.lookupUsers[(start + i) % USERS]).toCompletableFuture();
    }
    t.next = (start + IN_FLIGHT) % USERS;
    int found = 0;
    for (CompletableFuture<Presence> s : stages) {
      found += s.join().connections();
    }
    if (found != IN_FLIGHT) {
      throw new IllegalStateException("lookups found " + found + " connections (expected: " + IN_FLIGHT + ")");
    }
    return found;
  }

  private static void deleteKeys(String uri, String prefix) {
    RedisClient client = RedisClient.create(uri);
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      RedisCommands<String, String> redis = c.sync();
      ScanCursor cursor = ScanCursor.INITIAL;
      do {
        KeyScanCursor<String> page = redis.scan(cursor, ScanArgs.Builder.matches(prefix + "*").limit(5_000));
        if (!page.getKeys().isEmpty()) {
          redis.del(page.getKeys().toArray(String[]::new));
        }
        cursor = page;
      } while (!cursor.isFinished());
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** A gateway instance holding no connections of its own; enough for a benchmark. */
  private record Instance(String instanceId) implements InstanceContext {
    @Override
    public Collection<RegisteredConnection> liveConnections() {
      return List.of();
    }
  }
}
