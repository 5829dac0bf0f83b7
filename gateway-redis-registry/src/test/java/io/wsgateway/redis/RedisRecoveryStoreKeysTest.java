package io.wsgateway.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.testkit.Await;
import io.wsgateway.testkit.registry.TestInstanceContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What the kit cannot see: the Redis key layout, expiries, and failures mapped to {@code internal}. */
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

  private static RedisRecoveryStore store(String prefix) {
    return RedisRecoveryStore.create(RedisRecoveryOptions.builder()
        .uri(RedisTestSupport.URI)
        .keyPrefix(prefix)
        .window(Duration.ofSeconds(60))
        .attachedTtl(Duration.ofHours(1))
        .commandTimeout(Duration.ofSeconds(5))
        .build());
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
      Await.success(CALL, "create", s.create("sess-1", "alice", "gw-1/c1"));
      assertEquals(Map.of("sess-1", "gw-1/c1"), Await.success(CALL, "sessionsOf", s.sessionsOf("alice")));
      assertEquals(Set.of("gw-1"), Await.success(CALL, "instancesOf", registry.instancesOf("alice")));

      // And the other order: a user with a session and no connection connects again.
      Await.success(CALL, "create", s.create("sess-2", "bob", "gw-1/c2"));
      Await.success(CALL, "register", registry.register(instance.connection("c2", "bob")));
      assertEquals(Set.of("gw-1"), Await.success(CALL, "instancesOf", registry.instancesOf("bob")));
      assertEquals(Map.of("sess-2", "gw-1/c2"), Await.success(CALL, "sessionsOf", s.sessionsOf("bob")));
    }
  }

  @Test
  @DisplayName("a session is two hash-tagged keys with the attached TTL, then the window once detached, indexed under its user")
  void keysAndExpiry() {
    String prefix = support.newStorePrefix();
    try (RedisRecoveryStore s = store(prefix)) {
      String hash = prefix + "s:{sess-1}";
      String log = hash + ":log";
      Await.success(CALL, "create", s.create("sess-1", "alice", "i1/c1"));
      Await.success(CALL, "append", s.append("sess-1", "i1/c1", "m1", "f1".getBytes(StandardCharsets.UTF_8)));
      Await.success(CALL, "subscriptions", s.subscriptions("sess-1", "i1/c1", Set.of("news")));

      String index = prefix + "us:{alice}";
      assertEquals(Set.of(hash, log, index), Set.copyOf(support.redis.keys(prefix + "*")));
      assertEquals(List.of("sess-1"), support.redis.zrange(index, 0, -1));
      assertTrue(support.redis.pttl(index) > Duration.ofMinutes(60).toMillis(), "the index outlives the session's record");
      assertEquals("alice", support.redis.hget(hash, "user"));
      assertEquals("1", support.redis.hget(hash, "seq"));
      assertTrue(support.redis.pttl(hash) > Duration.ofMinutes(59).toMillis(), "attached TTL on the hash");
      assertTrue(support.redis.pttl(log) > Duration.ofMinutes(59).toMillis(), "attached TTL on the log");

      Await.success(CALL, "detach", s.detach("sess-1", "i1/c1"));
      assertTrue(support.redis.pttl(hash) <= 60_000, "window on the hash");
      // An append while detached keeps the window on both keys rather than the attached TTL.
      Await.success(CALL, "append", s.append("sess-1", "i1/c1", "m2", "f2".getBytes(StandardCharsets.UTF_8)));
      assertTrue(support.redis.pttl(hash) <= 60_000 && support.redis.pttl(log) <= 60_000, "window kept");

      Await.success(CALL, "claim", s.claim("sess-1", "alice", "i2/c2"));
      assertTrue(support.redis.pttl(hash) > Duration.ofMinutes(59).toMillis(), "attached TTL again");
      assertTrue(support.redis.pttl(log) > Duration.ofMinutes(59).toMillis(), "attached TTL again");
    }
  }

  @Test
  @DisplayName("calls on a closed store fail at once with internal, not hang")
  void closedFailsInternal() {
    try (RedisRecoveryStore s = store(support.newStorePrefix())) {
      s.close();
      Throwable t = Await.failure(CALL, "append on a closed store", s.append("x", "o", "m", new byte[1]));
      assertTrue(t instanceof GatewayException, t.toString());
      assertEquals(ErrorCodes.INTERNAL, ((GatewayException) t).code());
      assertTrue(t.getMessage().startsWith("recovery store unavailable: "), t.getMessage());
    }
  }

  @Test
  @DisplayName("create fails with internal when Redis cannot be reached")
  void connectFailure() {
    GatewayException e = assertThrows(GatewayException.class, () -> RedisRecoveryStore.create(
        RedisRecoveryOptions.builder().uri("redis://127.0.0.1:1").connectTimeout(Duration.ofMillis(500)).build()));
    assertEquals(ErrorCodes.INTERNAL, e.code());
    assertTrue(e.getMessage().startsWith("recovery store unavailable: cannot connect to Redis at redis://127.0.0.1:1"),
        e.getMessage());
  }
}
