package io.wsgateway.redis;

import io.wsgateway.testkit.RedisServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.recovery.StoredMessage;
import io.wsgateway.recovery.TopicAppend;
import io.wsgateway.recovery.UserAppend;
import io.wsgateway.redis.internal.RedisRecoveryStoreImpl;
import io.wsgateway.testkit.Await;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The store's order guarantee where Redis loses the scripts under it: against a private
 * redis-server, since SCRIPT FLUSH and CLIENT PAUSE would disturb everyone on the shared one.
 */
class RedisRecoveryStoreOrderTest {

  private static final Duration CALL = Duration.ofSeconds(30);
  private static RedisServer server;
  private static RedisClient client;
  private static StatefulRedisConnection<String, String> admin;
  private static int stores;

  private String prefix;

  @BeforeAll
  static void startServer() throws Exception {
    server = RedisServer.startOnFreePort();
    client = RedisClient.create(server.uri());
    admin = client.connect();
  }

  @AfterAll
  static void stopServer() throws Exception {
    admin.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    server.close();
  }

  @BeforeEach
  void newPrefix() {
    prefix = "wsgwtest:order:" + (++stores) + ":";
  }

  /**
   * CLIENT UNPAUSE, which Lettuce has no method for. Redis holds it, like any command, until the
   * pause ends: its answer says the pause is over.
   */
  private static void unpause() {
    admin.sync().dispatch(CommandType.CLIENT, new StatusOutput<>(StringCodec.UTF8),
        new CommandArgs<>(StringCodec.UTF8).add("UNPAUSE"));
  }

  private RedisRecoveryStore store(int maxMessages, Duration commandTimeout) {
    return RedisRecoveryStore.create(RedisRecoveryOptions.builder()
        .uri(server.uri())
        .keyPrefix(prefix)
        .maxMessages(maxMessages)
        .topicMaxMessages(maxMessages)
        .commandTimeout(commandTimeout)
        .build());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> ids(List<StoredMessage> messages) {
    List<String> ids = new ArrayList<>(messages.size());
    for (StoredMessage m : messages) {
      ids.add(m.id());
    }
    return ids;
  }

  @Test
  @DisplayName("appends pipelined across SCRIPT FLUSHes take effect in issue order, none lost, none twice")
  void orderAcrossScriptFlush() {
    int n = 3_000;
    try (RedisRecoveryStore s = store(n, Duration.ofSeconds(20))) {
      Await.success(CALL, "create", s.create("alice", "s1", "i1/c1"));
      List<CompletableFuture<UserAppend>> direct = new ArrayList<>(n);
      List<CompletableFuture<TopicAppend>> published = new ArrayList<>(n);
      // Calls are issued without waiting for them, so they are pipelined on the store's connection,
      // and at a steady rate below what Redis can take (a gateway's traffic, not a burst Redis only
      // catches up with later): so calls are still being issued while those in flight at a flush
      // come back with NOSCRIPT, which is when a store that retried each of them on its own let the
      // new ones overtake. The pacing is load generation, not a wait for a condition.
      long start = System.nanoTime();
      long interval = TimeUnit.SECONDS.toNanos(1) / 1_000;
      for (int i = 1; i <= n; i++) {
        long due = start + i * interval;
        for (long left = due - System.nanoTime(); left > 0; left = due - System.nanoTime()) {
          LockSupport.parkNanos(left);
        }
        direct.add(s.appendToUser("alice", "m" + i, bytes("f" + i), false).toCompletableFuture());
        published.add(s.appendToTopic("room", "p" + i, bytes("g" + i), false).toCompletableFuture());
        if (i == n / 3 || i == 2 * n / 3) {
          admin.async().scriptFlush();
        }
      }
      List<String> expectedDirect = new ArrayList<>(n);
      List<String> expectedTopic = new ArrayList<>(n);
      List<String> misplaced = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        long seq = Await.success(CALL, "append m" + i, direct.get(i - 1)).sessions().get(0).seq();
        long offset = Await.success(CALL, "publish p" + i, published.get(i - 1)).offset();
        if (seq != i || offset != i) {
          misplaced.add("m" + i + "/p" + i + " at " + seq + "/" + offset);
        }
        expectedDirect.add("m" + i);
        expectedTopic.add("p" + i);
      }
      assertEquals(List.of(), misplaced.subList(0, Math.min(10, misplaced.size())),
          misplaced.size() + " of " + n + " appends out of issue order");
      assertEquals(expectedDirect, ids(Await.success(CALL, "read", s.read("alice", "s1", 0)).messages()));
      assertEquals(expectedTopic, ids(Await.success(CALL, "readTopic", s.readTopic("room", 0)).messages()));
      long reloads = ((RedisRecoveryStoreImpl) s).scriptReloads();
      assertTrue(reloads >= 1, "the flushes were seen: " + reloads + " reloads");
    }
  }

  @Test
  @DisplayName("a call that timed out is not sent again by the store, even when the scripts were lost meanwhile")
  void timedOutCallNotRetried() {
    try (RedisRecoveryStore s = store(100, Duration.ofMillis(500))) {
      Await.success(CALL, "create", s.create("alice", "s1", "i1/c1"));
      Await.success(CALL, "m1", s.appendToUser("alice", "m1", bytes("f1"), false));
      admin.sync().scriptFlush();
      // Redis holds every client's commands for a while: m2 times out, then reaches the script
      // cache flushed. Its NOSCRIPT answer comes after the caller was told it failed, so sending it
      // again would append a message whose caller already moved on.
      admin.sync().clientPause(2_000);
      Throwable t = Await.failure(CALL, "m2 during the pause", s.appendToUser("alice", "m2", bytes("f2"), false));
      GatewayException g = assertInstanceOf(GatewayException.class, t);
      assertEquals(ErrorCodes.STORE_UNAVAILABLE, g.code());
      assertTrue(g.getMessage().contains("command timeout"), g.getMessage());
      unpause();

      UserAppend m3 = Await.success(CALL, "m3", s.appendToUser("alice", "m3", bytes("f3"), false));
      assertEquals(2, m3.sessions().get(0).seq());
      assertEquals(List.of("m1", "m3"), ids(Await.success(CALL, "read", s.read("alice", "s1", 0)).messages()));
      assertFalse(((RedisRecoveryStoreImpl) s).scriptReloads() == 0, "m3 found the scripts gone");
    }
  }
}
