package io.wsgateway.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.TopicAppend;
import io.wsgateway.recovery.UserAppend;
import io.wsgateway.testkit.Await;
import io.wsgateway.testkit.registry.TestInstanceContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What the kit cannot see: the Redis key layout, expiries, eviction of keys, and failures mapped to
 * {@code store_unavailable}.
 */
class RedisRecoveryStoreKeysTest {

  private static final Duration CALL = Duration.ofSeconds(10);
  private static RedisTestSupport support;

  @BeforeAll
  static void openSupport() {
    support = new RedisTestSupport();
  }

  @AfterAll
  static void deleteKeys() {
    support.close();
  }

  private static RedisRecoveryOptions.Builder options(String prefix) {
    return RedisRecoveryOptions.builder()
        .uri(RedisTestSupport.URI)
        .keyPrefix(prefix)
        .window(Duration.ofSeconds(60))
        .attachedTtl(Duration.ofHours(1))
        .topicHistoryTtl(Duration.ofSeconds(30))
        .commandTimeout(Duration.ofSeconds(5));
  }

  private static RedisRecoveryStore store(String prefix) {
    return RedisRecoveryStore.create(options(prefix).build());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  @DisplayName("shares a key prefix with the registry, as the example gateway does, without a key of one clobbering the other's")
  void sharesPrefixWithRegistry() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = store(prefix);
        RedisConnectionRegistry registry = RedisConnectionRegistry.create(RedisTestSupport.testOptions(prefix).build())) {
      TestInstanceContext instance = new TestInstanceContext("gw-1");
      Await.success(CALL, "attach", registry.attach(instance));
      // The gateway's order: the connection is registered, then its session created.
      Await.success(CALL, "register", registry.register(instance.connection("c1", "alice")));
      Await.success(CALL, "create", s.create("alice", "sess-1", "gw-1/c1"));
      UserAppend a = Await.success(CALL, "append", s.appendToUser("alice", "m1", bytes("f1"), false));
      assertEquals("gw-1/c1", a.sessions().get(0).owner());
      assertEquals(Set.of("gw-1"), Await.success(CALL, "instancesOf", registry.instancesOf("alice")));

      // And the other order: a user with a session and no connection connects again.
      Await.success(CALL, "create", s.create("bob", "sess-2", "gw-1/c2"));
      Await.success(CALL, "register", registry.register(instance.connection("c2", "bob")));
      assertEquals(Set.of("gw-1"), Await.success(CALL, "instancesOf", registry.instancesOf("bob")));
      assertEquals(1, Await.success(CALL, "append", s.appendToUser("bob", "m1", bytes("f1"), false)).sessions().size());
    }
  }

  @Test
  @DisplayName("a session is a hash and a log under the user's hash tag, with the attached TTL, then the window once detached, indexed under its user")
  void sessionKeysAndExpiry() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = store(prefix)) {
      String hash = prefix + "s:{alice}:sess-1";
      String log = hash + ":log";
      String index = prefix + "us:{alice}";
      long epoch = Await.success(CALL, "create", s.create("alice", "sess-1", "i1/c1")).epoch();
      Await.success(CALL, "append", s.appendToUser("alice", "m1", bytes("f1"), false));

      assertEquals(Set.of(hash, log, index), Set.copyOf(support.redis.keys(prefix + "*")));
      assertEquals(List.of("sess-1"), support.redis.zrange(index, 0, -1));
      assertEquals("1", support.redis.hget(hash, "seq"));
      assertEquals(Long.toString(epoch), support.redis.hget(hash, "epoch"));
      assertEquals("i1/c1", support.redis.hget(hash, "owner"));
      // The entry: u16 id length, id, frame.
      assertEquals(List.of("\u0000\u0002m1f1"), support.redis.lrange(log, 0, -1));
      assertTrue(support.redis.pttl(hash) > Duration.ofMinutes(59).toMillis(), "attached TTL on the hash");
      assertTrue(support.redis.pttl(log) > Duration.ofMinutes(59).toMillis(), "attached TTL on the log");
      assertTrue(support.redis.pttl(index) > Duration.ofMinutes(60).toMillis(), "the index outlives its sessions");

      Await.success(CALL, "detach", s.detach("alice", "sess-1", "i1/c1"));
      assertNull(support.redis.hget(hash, "owner"));
      assertTrue(support.redis.pttl(hash) <= 60_000 && support.redis.pttl(log) <= 60_000, "window on both keys");
      // An append while detached keeps the window on both keys rather than the attached TTL.
      Await.success(CALL, "append", s.appendToUser("alice", "m2", bytes("f2"), false));
      assertTrue(support.redis.pttl(hash) <= 60_000 && support.redis.pttl(log) <= 60_000, "window kept");

      Await.success(CALL, "claim", s.claim("alice", "sess-1", "i2/c2"));
      assertTrue(support.redis.pttl(hash) > Duration.ofMinutes(59).toMillis(), "attached TTL again");
      assertTrue(support.redis.pttl(log) > Duration.ofMinutes(59).toMillis(), "attached TTL again");
    }
  }

  @Test
  @DisplayName("an append extends an attached session's expiry, and its index's, once a quarter of the attached TTL has passed")
  void appendsExtendAttachedTtl() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = RedisRecoveryStore.create(options(prefix).attachedTtl(Duration.ofSeconds(8)).build())) {
      String hash = prefix + "s:{alice}:s1";
      Await.success(CALL, "create", s.create("alice", "s1", "i1/c1"));
      Await.success(CALL, "append", s.appendToUser("alice", "m1", bytes("f1"), false));
      long before = Await.until(CALL, "a quarter of the attached TTL passes",
          () -> support.redis.pttl(hash), ttl -> ttl < 5_800);

      Await.success(CALL, "append", s.appendToUser("alice", "m2", bytes("f2"), false));
      long hashTtl = support.redis.pttl(hash);
      long logTtl = support.redis.pttl(hash + ":log");
      long indexTtl = support.redis.pttl(prefix + "us:{alice}");
      assertTrue(hashTtl > before + 1_000 && logTtl > before + 1_000, "extended: " + before + " -> " + hashTtl + ", " + logTtl);
      assertTrue(indexTtl >= hashTtl, "the index outlives the session: " + indexTtl + " < " + hashTtl);
    }
  }

  @Test
  @DisplayName("a detached session's first message starts a log that expires with the session")
  void newLogOfDetachedSessionTakesWindow() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = store(prefix)) {
      Await.success(CALL, "create", s.create("alice", "sess-1", "i1/c1"));
      Await.success(CALL, "detach", s.detach("alice", "sess-1", "i1/c1"));
      Await.success(CALL, "append", s.appendToUser("alice", "m1", bytes("f1"), false));
      long ttl = support.redis.pttl(prefix + "s:{alice}:sess-1:log");
      assertTrue(ttl > 0 && ttl <= 60_000, "log TTL " + ttl);
    }
  }

  @Test
  @DisplayName("a topic is a hash (offset, epoch) living 24 h and a log living topicHistoryTtl after the latest publication")
  void topicKeys() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = store(prefix)) {
      long epoch = Await.success(CALL, "publish", s.appendToTopic("news", "p1", bytes("f1"), false)).epoch();
      String hash = prefix + "t:{news}";
      assertEquals("1", support.redis.hget(hash, "offset"));
      assertEquals(Long.toString(epoch), support.redis.hget(hash, "epoch"));
      assertEquals(List.of("\u0000\u0002p1f1"), support.redis.lrange(hash + ":log", 0, -1));
      long logTtl = support.redis.pttl(hash + ":log");
      assertTrue(logTtl > 0 && logTtl <= 30_000, "log TTL " + logTtl);
      assertTrue(support.redis.pttl(hash) > Duration.ofHours(23).toMillis(), "hash TTL " + support.redis.pttl(hash));
    }
  }

  @Test
  @DisplayName("the incarnation is a key holding a random token, made anew when it is missing")
  void incarnationKey() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = store(prefix)) {
      String token = Await.success(CALL, "incarnation", s.incarnation());
      assertEquals(token, support.redis.get(prefix + "incarnation"));
      assertEquals(-1, support.redis.pttl(prefix + "incarnation"), "never expires");
      support.redis.del(prefix + "incarnation");
      String next = Await.success(CALL, "incarnation", s.incarnation());
      assertTrue(!next.equals(token) && next.equals(support.redis.get(prefix + "incarnation")), next);
    }
  }

  @Test
  @DisplayName("an evicted session's keys are deleted and it leaves the index")
  void evictionDeletesKeys() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = RedisRecoveryStore.create(options(prefix).maxSessionsPerUser(2).build())) {
      Await.success(CALL, "create", s.create("alice", "old", "i1/c1"));
      Await.success(CALL, "append", s.appendToUser("alice", "m1", bytes("f1"), false));
      Await.success(CALL, "detach", s.detach("alice", "old", "i1/c1"));
      Await.success(CALL, "create", s.create("alice", "mid", "i1/c2"));
      Await.success(CALL, "create", s.create("alice", "new", "i1/c3"));

      assertEquals(0, support.redis.exists(prefix + "s:{alice}:old", prefix + "s:{alice}:old:log"));
      assertEquals(List.of("mid", "new"), support.redis.zrange(prefix + "us:{alice}", 0, -1));
    }
  }

  @Test
  @DisplayName("members of the index whose session expired are pruned by the next append to the user")
  void expiredMembersPruned() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = RedisRecoveryStore.create(options(prefix).window(Duration.ofMillis(100)).build())) {
      Await.success(CALL, "create", s.create("alice", "gone", "i1/c1"));
      Await.success(CALL, "create", s.create("alice", "live", "i1/c2"));
      Await.success(CALL, "detach", s.detach("alice", "gone", "i1/c1"));
      Await.until(CALL, "the detached session's hash expires",
          () -> support.redis.exists(prefix + "s:{alice}:gone") == 0);

      UserAppend a = Await.success(CALL, "append", s.appendToUser("alice", "m1", bytes("f1"), false));
      assertEquals(1, a.sessions().size(), a.toString());
      assertEquals(List.of("live"), support.redis.zrange(prefix + "us:{alice}", 0, -1));
    }
  }

  @Test
  @DisplayName("a deduplicating append finds the ids of the newest 128 messages still in the log, no older ones")
  void dedupeWindow() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = RedisRecoveryStore.create(options(prefix).maxMessages(200).topicMaxMessages(3).build())) {
      Await.success(CALL, "create", s.create("alice", "s1", "i1/c1"));
      for (int i = 1; i <= 10; i++) {
        Await.success(CALL, "append", s.appendToUser("alice", "m" + i, bytes("f"), false));
      }
      String ids = prefix + "s:{alice}:s1:ids";
      assertEquals(0, support.redis.exists(ids), "no recent ids before a deduplicating append");
      UserAppend again = Await.success(CALL, "dedupe m3", s.appendToUser("alice", "m3", bytes("f"), true));
      assertTrue(again.duplicate());
      assertEquals(3, again.sessions().get(0).seq());
      assertEquals(10, support.redis.llen(ids), "made from the log");
      assertTrue(support.redis.pttl(ids) > Duration.ofMinutes(59).toMillis(), "expires with the log");

      // 150 more: the recent ids keep the newest 128, lined up with the log's end.
      for (int i = 11; i <= 160; i++) {
        Await.success(CALL, "append", s.appendToUser("alice", "m" + i, bytes("f"), false));
      }
      assertEquals(128, support.redis.llen(ids));
      assertEquals(33, Await.success(CALL, "dedupe m33", s.appendToUser("alice", "m33", bytes("f"), true))
          .sessions().get(0).seq(), "the 128th newest");
      UserAppend old = Await.success(CALL, "dedupe m32", s.appendToUser("alice", "m32", bytes("f"), true));
      assertTrue(!old.duplicate() && old.sessions().get(0).seq() == 161, "the 129th newest is not looked at: " + old);

      // A topic keeping 3: ids it dropped are not found, though its recent ids still hold them.
      for (int i = 1; i <= 5; i++) {
        Await.success(CALL, "publish", s.appendToTopic("news", "p" + i, bytes("f"), i == 5));
      }
      assertEquals(4, Await.success(CALL, "dedupe p4", s.appendToTopic("news", "p4", bytes("f"), true)).offset());
      TopicAppend p1 = Await.success(CALL, "dedupe p1", s.appendToTopic("news", "p1", bytes("f"), true));
      assertTrue(!p1.duplicate() && p1.offset() == 6, p1.toString());
      long ttl = support.redis.pttl(prefix + "t:{news}:ids");
      assertTrue(ttl > 0 && ttl <= 30_000, "the topic's recent ids expire with its log: " + ttl);

      // A new session under the same id starts without them.
      Await.success(CALL, "create again", s.create("alice", "s1", "i1/c2"));
      assertEquals(0, support.redis.exists(ids, prefix + "s:{alice}:s1:log"));
    }
  }

  @Test
  @DisplayName("session ids that could spell another key are refused by create and restore, and unknown elsewhere")
  void sessionIdsThatNameOtherKeys() {
    try (RedisRecoveryStore s = store(support.newStorePrefix())) {
      for (String id : List.of("a:log", "x}:y", "")) {
        Throwable t = Await.failure(CALL, "create " + id, s.create("alice", id, "i1/c1"));
        assertInstanceOf(IllegalArgumentException.class, t);
        assertEquals("sessionId: " + id + " (expected: not empty, no ':' or '}')", t.getMessage());
        assertInstanceOf(IllegalArgumentException.class, Await.failure(CALL, "restore", s.restore("alice", id, "o", 0)));
        assertEquals(SessionState.unknown(), Await.success(CALL, "claim", s.claim("alice", id, "i1/c1")));
        assertEquals(Backlog.Status.UNKNOWN, Await.success(CALL, "read", s.read("alice", id, 0)).status());
        assertNull(Await.success(CALL, "appendToSession", s.appendToSession("alice", id, "m", bytes("f"))));
      }
    }
  }

  @Test
  @DisplayName("a message id longer than 65,535 UTF-8 bytes is refused")
  void longMessageId() {
    try (RedisRecoveryStore s = store(support.newStorePrefix())) {
      Throwable t = Await.failure(CALL, "append", s.appendToUser("alice", "x".repeat(65_536), bytes("f"), false));
      assertEquals("messageId: 65536 bytes (expected: <= 65535)", t.getMessage());
    }
  }

  @Test
  @DisplayName("an error reply from Redis (a key of the wrong type) fails the call with store_unavailable")
  void errorReply() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = store(prefix)) {
      support.redis.set(prefix + "us:{alice}", "not a sorted set");
      Throwable t = Await.failure(CALL, "append", s.appendToUser("alice", "m1", bytes("f1"), false));
      GatewayException g = assertInstanceOf(GatewayException.class, t);
      assertEquals(ErrorCodes.STORE_UNAVAILABLE, g.code());
      assertTrue(g.getMessage().startsWith("recovery store unavailable: ") && g.getMessage().contains("WRONGTYPE"),
          g.getMessage());
    }
  }

  @Test
  @DisplayName("calls on a closed store fail at once with store_unavailable, not hang")
  void closedFailsUnavailable() {
    try (RedisRecoveryStore s = store(support.newStorePrefix())) {
      s.close();
      Throwable t = Await.failure(CALL, "append on a closed store", s.appendToUser("alice", "m", new byte[1], false));
      GatewayException g = assertInstanceOf(GatewayException.class, t);
      assertEquals(ErrorCodes.STORE_UNAVAILABLE, g.code());
      assertEquals("recovery store unavailable: closed", g.getMessage());
    }
  }

  @Test
  @DisplayName("create fails with store_unavailable when Redis cannot be reached")
  void connectFailure() {
    GatewayException e = assertThrows(GatewayException.class, () -> RedisRecoveryStore.create(
        RedisRecoveryOptions.builder().uri("redis://127.0.0.1:1").connectTimeout(Duration.ofMillis(500)).build()));
    assertEquals(ErrorCodes.STORE_UNAVAILABLE, e.code());
    assertTrue(e.getMessage().startsWith("recovery store unavailable: cannot connect to Redis at redis://127.0.0.1:1"),
        e.getMessage());
  }
}
