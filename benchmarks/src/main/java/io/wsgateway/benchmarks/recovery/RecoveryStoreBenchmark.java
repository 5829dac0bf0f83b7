package io.wsgateway.benchmarks.recovery;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.wsgateway.benchmarks.AbstractBenchmark;
import io.wsgateway.recovery.AppendResult;
import io.wsgateway.recovery.InMemoryRecoveryStore;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.redis.RedisRecoveryOptions;
import io.wsgateway.redis.RedisRecoveryStore;
import java.time.Clock;
import java.time.Duration;
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
 * Throughput of the recovery store's hot path: appends per second, with {@link #IN_FLIGHT}
 * asynchronous appends in flight per benchmark thread (so Lettuce pipelines them on its one
 * connection), each thread appending to its own session. Frames of {@link #FRAME_BYTES} bytes, ids
 * of 18 characters, the default limit of 1,000 messages per session (so the log is trimmed on every
 * append once full). The in-memory store is the baseline beside Redis.
 *
 * <p>{@link #main} measures the other cost, Redis memory per stored message: {@code used_memory}
 * before and after filling 100 sessions with 1,000 messages each.
 *
 * <p>Redis: the shared server at 127.0.0.1:6379 (override with {@code -Dwsgw.redis.uri=...}); keys
 * under a per-trial prefix, deleted at teardown (SCAN + DEL).
 */
@State(Scope.Benchmark)
@Threads(2)
public class RecoveryStoreBenchmark extends AbstractBenchmark {

  /** Asynchronous appends issued together per benchmark invocation and thread. */
  static final int IN_FLIGHT = 256;
  static final int FRAME_BYTES = 100;
  static final int MAX_MESSAGES = 1_000;

  @Param({"in-memory", "redis"})
  public String store;

  private RecoveryStore s;
  private String prefix;
  private final AtomicInteger threads = new AtomicInteger();

  @Setup(Level.Trial)
  public void setUp() {
    if (store.equals("redis")) {
      prefix = "wsgwbench:" + UUID.randomUUID() + ":";
      s = RedisRecoveryStore.create(RedisRecoveryOptions.builder()
          .uri(uri())
          .keyPrefix(prefix)
          .maxMessages(MAX_MESSAGES)
          .build());
    } else {
      s = InMemoryRecoveryStore.create(Duration.ofSeconds(120), MAX_MESSAGES, Clock.systemUTC());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    s.close();
    if (prefix != null) {
      deleteKeys(uri(), prefix);
    }
  }

  /** Per benchmark thread: its own session, ids and the seq its next append must get. */
  @State(Scope.Thread)
  public static class PerThread {
    String session;
    String owner;
    String[] ids;
    byte[] frame;
    long nextSeq = 1;

    @Setup(Level.Trial)
    public void setUp(RecoveryStoreBenchmark b) {
      int t = b.threads.incrementAndGet();
      session = "bench-session-" + t;
      owner = "bench-instance/c" + t;
      b.s.create(session, "bench-user-" + t, owner).toCompletableFuture().join();
      ids = new String[IN_FLIGHT];
      for (int i = 0; i < IN_FLIGHT; i++) {
        ids[i] = String.format("m-%016x", ((long) t << 32) | i);
      }
      frame = new byte[FRAME_BYTES];
      for (int i = 0; i < FRAME_BYTES; i++) {
        frame[i] = (byte) ('a' + i % 26);
      }
    }
  }

  /**
   * IN_FLIGHT appends to the thread's session, then waits for all; each must be appended with the
   * next seq, in issue order.
   */
  @Benchmark
  @OperationsPerInvocation(IN_FLIGHT)
  public long appends(PerThread t) {
    @SuppressWarnings("unchecked")
    CompletableFuture<AppendResult>[] stages = new CompletableFuture[IN_FLIGHT];
    for (int i = 0; i < IN_FLIGHT; i++) {
      stages[i] = s.append(t.session, t.owner, t.ids[i], t.frame).toCompletableFuture();
    }
    for (CompletableFuture<AppendResult> stage : stages) {
      AppendResult r = stage.join();
      if (!r.appended() || r.seq() != t.nextSeq) {
        throw new IllegalStateException("append: " + r + " (expected: appended(" + t.nextSeq + "))");
      }
      t.nextSeq++;
    }
    return t.nextSeq;
  }

  /**
   * Redis memory per stored message: {@code used_memory} before and after appending {@code
   * sessions x 1,000} messages of 100 bytes. Args: [sessions, default 100].
   */
  public static void main(String[] args) {
    int sessions = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    String uri = uri();
    String prefix = "wsgwbench:" + UUID.randomUUID() + ":";
    RedisClient client = RedisClient.create(uri);
    try (StatefulRedisConnection<String, String> c = client.connect();
        RecoveryStore store = RedisRecoveryStore.create(RedisRecoveryOptions.builder()
            .uri(uri).keyPrefix(prefix).maxMessages(MAX_MESSAGES).build())) {
      byte[] frame = new byte[FRAME_BYTES];
      for (int i = 0; i < FRAME_BYTES; i++) {
        frame[i] = (byte) ('a' + i % 26);
      }
      long before = usedMemory(c.sync());
      for (int n = 0; n < sessions; n++) {
        String session = String.format("%s-%08d", UUID.randomUUID(), n);
        String owner = "instance-1/" + UUID.randomUUID();
        store.create(session, "user-" + n, owner).toCompletableFuture().join();
        CompletableFuture<?>[] stages = new CompletableFuture<?>[MAX_MESSAGES];
        for (int i = 0; i < MAX_MESSAGES; i++) {
          stages[i] = store.append(session, owner, String.format("m-%016x", ((long) n << 32) | i), frame)
              .toCompletableFuture();
        }
        CompletableFuture.allOf(stages).join();
        long last = ((AppendResult) stages[MAX_MESSAGES - 1].join()).seq();
        if (last != MAX_MESSAGES) {
          throw new IllegalStateException("last seq " + last + " (expected: " + MAX_MESSAGES + ")");
        }
      }
      long after = usedMemory(c.sync());
      long messages = (long) sessions * MAX_MESSAGES;
      System.out.printf(
          "sessions=%d messages=%d frame=%d B id=18 B: used_memory %d -> %d (+%d B), %.1f B per message%n",
          sessions, messages, FRAME_BYTES, before, after, after - before,
          (after - before) / (double) messages);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      deleteKeys(uri, prefix);
    }
  }

  private static long usedMemory(RedisCommands<String, String> redis) {
    for (String line : redis.info("memory").split("\r?\n")) {
      if (line.startsWith("used_memory:")) {
        return Long.parseLong(line.substring("used_memory:".length()).trim());
      }
    }
    throw new IllegalStateException("no used_memory in INFO memory");
  }

  private static String uri() {
    return System.getProperty("wsgw.redis.uri", "redis://127.0.0.1:6379");
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
}
