package io.wsgateway.benchmarks.recovery;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.wsgateway.benchmarks.AbstractBenchmark;
import io.wsgateway.recovery.InMemoryRecoveryStore;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.SessionAppend;
import io.wsgateway.recovery.TopicAppend;
import io.wsgateway.recovery.UserAppend;
import io.wsgateway.redis.RedisRecoveryOptions;
import io.wsgateway.redis.RedisRecoveryStore;
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
 * Throughput of the recovery store's hot path, appends per second: {@link #appendToUser} (a direct
 * message to a user with {@code sessions} sessions, one attached) and {@link #appendToTopic} (a
 * publication), each with {@link #IN_FLIGHT} asynchronous appends in flight per benchmark thread (so
 * the Redis store pipelines them on its one connection), each thread to its own user and topic.
 * Frames of {@link #FRAME_BYTES} bytes, ids of about 20 characters, the default limit of 1,000
 * messages (so a log is trimmed on every append once full). {@code dedupe} makes every append look
 * for its id among the stream's newest 128 first (as for messages a broker may redeliver). The
 * in-memory store is the baseline beside Redis. Every invocation checks that each append got the
 * next seq or offset, in issue order, and was no duplicate.
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

  /** Sessions of the user an {@link #appendToUser} reaches: each gets the message. */
  @Param({"1"})
  public int sessions;

  @Param({"false", "true"})
  public boolean dedupe;

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
          .topicMaxMessages(MAX_MESSAGES)
          .build());
    } else {
      s = InMemoryRecoveryStore.builder().maxMessages(MAX_MESSAGES).topicMaxMessages(MAX_MESSAGES).build();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    s.close();
    if (prefix != null) {
      deleteKeys(uri(), prefix);
    }
  }

  /** Per benchmark thread: its own user (with its sessions) and topic, and the seqs to expect. */
  @State(Scope.Thread)
  public static class PerThread {
    String user;
    String topic;
    String idPrefix;
    byte[] frame;
    long nextId;
    long nextSeq = 1;
    long nextOffset = 1;

    @Setup(Level.Trial)
    public void setUp(RecoveryStoreBenchmark b) {
      int t = b.threads.incrementAndGet();
      user = "bench-user-" + t;
      topic = "bench-topic-" + t;
      idPrefix = "m-" + t + "-";
      for (int i = 0; i < b.sessions; i++) {
        // One live session (the one a direct message is delivered to now), the others detached.
        String owner = "bench-instance/c" + t + "-" + i;
        b.s.create(user, "s" + i, owner).toCompletableFuture().join();
        if (i > 0) {
          b.s.detach(user, "s" + i, owner).toCompletableFuture().join();
        }
      }
      frame = new byte[FRAME_BYTES];
      for (int i = 0; i < FRAME_BYTES; i++) {
        frame[i] = (byte) ('a' + i % 26);
      }
    }

    /** A new message id: unique, so a deduplicating append never finds it. */
    String nextId() {
      return idPrefix + nextId++;
    }
  }

  /**
   * IN_FLIGHT appends to the thread's user, then waits for all; each must reach every session of
   * the user with the next seq, in issue order.
   */
  @Benchmark
  @OperationsPerInvocation(IN_FLIGHT)
  public long appendToUser(PerThread t) {
    @SuppressWarnings("unchecked")
    CompletableFuture<UserAppend>[] stages = new CompletableFuture[IN_FLIGHT];
    for (int i = 0; i < IN_FLIGHT; i++) {
      stages[i] = s.appendToUser(t.user, t.nextId(), t.frame, dedupe).toCompletableFuture();
    }
    for (CompletableFuture<UserAppend> stage : stages) {
      UserAppend r = stage.join();
      check(!r.duplicate() && r.sessions().size() == sessions, "appendToUser: " + r);
      for (SessionAppend a : r.sessions()) {
        check(a.seq() == t.nextSeq, "appendToUser: " + a + " (expected seq " + t.nextSeq + ")");
      }
      t.nextSeq++;
    }
    return t.nextSeq;
  }

  /** IN_FLIGHT publications to the thread's topic; each must get the next offset, in issue order. */
  @Benchmark
  @OperationsPerInvocation(IN_FLIGHT)
  public long appendToTopic(PerThread t) {
    @SuppressWarnings("unchecked")
    CompletableFuture<TopicAppend>[] stages = new CompletableFuture[IN_FLIGHT];
    for (int i = 0; i < IN_FLIGHT; i++) {
      stages[i] = s.appendToTopic(t.topic, t.nextId(), t.frame, dedupe).toCompletableFuture();
    }
    for (CompletableFuture<TopicAppend> stage : stages) {
      TopicAppend r = stage.join();
      check(!r.duplicate() && r.offset() == t.nextOffset, "appendToTopic: " + r + " (expected offset " + t.nextOffset + ")");
      t.nextOffset++;
    }
    return t.nextOffset;
  }

  /**
   * Redis memory per stored message: {@code used_memory} before and after appending {@code
   * sessions x 1,000} messages of 100 bytes, each user with one session. Args: [sessions, default
   * 100].
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
        String user = "user-" + UUID.randomUUID();
        String session = UUID.randomUUID().toString();
        store.create(user, session, "instance-1/" + UUID.randomUUID()).toCompletableFuture().join();
        CompletableFuture<?>[] stages = new CompletableFuture<?>[MAX_MESSAGES];
        for (int i = 0; i < MAX_MESSAGES; i++) {
          stages[i] = store.appendToUser(user, String.format("m-%016x", ((long) n << 32) | i), frame, false)
              .toCompletableFuture();
        }
        CompletableFuture.allOf(stages).join();
        long last = ((UserAppend) stages[MAX_MESSAGES - 1].join()).sessions().get(0).seq();
        check(last == MAX_MESSAGES, "last seq " + last + " (expected: " + MAX_MESSAGES + ")");
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
