package io.wsgateway.redis;

import io.wsgateway.testkit.RedisServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.registry.InstanceStatus;
import io.wsgateway.registry.Presence;
import io.wsgateway.testkit.Await;
import io.wsgateway.testkit.registry.TestInstanceContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Behaviour of the Redis registry beyond the compatibility kit: liveness, epochs, sweeps. */
class RedisConnectionRegistryTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  private static RedisTestSupport support;
  private final List<RedisConnectionRegistry> opened = new ArrayList<>();

  @BeforeAll
  static void openSupport() {
    support = new RedisTestSupport();
  }

  @AfterAll
  static void deleteKeys() {
    support.close();
  }

  @AfterEach
  void closeRegistries() {
    opened.forEach(RedisConnectionRegistry::close);
  }

  private RedisConnectionRegistry open(RedisRegistryOptions options) {
    RedisConnectionRegistry r = RedisConnectionRegistry.create(options);
    opened.add(r);
    return r;
  }

  static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    } catch (ExecutionException | TimeoutException e) {
      throw new AssertionError("registry call failed: " + e, e);
    }
  }

  @Test
  @DisplayName("an instance whose heartbeats stop is no longer returned once its liveness TTL lapses")
  void heartbeatLapse() {
    String prefix = support.newStorePrefix();
    RedisConnectionRegistry survivor = open(RedisTestSupport.testOptions(prefix).build());
    RedisConnectionRegistry doomed = open(RedisTestSupport.testOptions(prefix)
        .heartbeatInterval(Duration.ofMillis(50))
        .heartbeatTtl(Duration.ofMillis(300))
        .build());
    TestInstanceContext a = new TestInstanceContext("survivor");
    TestInstanceContext b = new TestInstanceContext("doomed");
    await(survivor.attach(a));
    await(doomed.attach(b));
    await(a.connect(survivor, "c1", "alice"));
    await(b.connect(doomed, "c2", "alice"));
    assertEquals(Set.of("survivor", "doomed"), await(survivor.instancesOf("alice")));

    doomed.close(); // heartbeats stop; nothing unregistered, no GONE

    Await.until(WAIT, "doomed instance dropped", () -> await(survivor.instancesOf("alice")),
        Set.of("survivor")::equals);
    assertEquals(new Presence("alice", 1, Set.of("survivor")), await(survivor.presence("alice")));
  }

  @Test
  @DisplayName("the near cache answers repeated lookups and follows changes made through another registry")
  void nearCacheFollowsPeers() {
    String prefix = support.newStorePrefix();
    RedisConnectionRegistry reader = open(RedisTestSupport.testOptions(prefix).build());
    RedisConnectionRegistry writer = open(RedisTestSupport.testOptions(prefix).build());
    TestInstanceContext gw = new TestInstanceContext("gw-w");
    await(writer.attach(gw));
    Await.until(WAIT, "client tracking on", () -> reader.nearCacheStats().active());

    // Nobody yet: the empty answer is cached too, and a second lookup does not go to Redis.
    assertEquals(Set.of(), await(reader.instancesOf("carol")));
    long hitsBefore = reader.nearCacheStats().hits();
    assertEquals(Set.of(), await(reader.instancesOf("carol")));
    assertEquals(hitsBefore + 1, reader.nearCacheStats().hits());

    // A change through another connection reaches the reader by Redis' invalidation.
    await(gw.connect(writer, "c-1", "carol"));
    Await.until(WAIT, "reader sees the new connection", () -> await(reader.instancesOf("carol")),
        Set.of("gw-w")::equals);
    assertTrue(reader.nearCacheStats().invalidations() > 0, reader.nearCacheStats().toString());
    await(gw.disconnect(writer, "c-1", "carol"));
    Await.until(WAIT, "reader sees the connection gone", () -> await(reader.instancesOf("carol")),
        Set.of()::equals);
  }

  @Test
  @DisplayName("a registry's own register and unregister show in its next lookup, cached or not")
  void nearCacheSeesOwnWrites() {
    String prefix = support.newStorePrefix();
    RedisConnectionRegistry registry = open(RedisTestSupport.testOptions(prefix).build());
    TestInstanceContext gw = new TestInstanceContext("gw-own");
    await(registry.attach(gw));
    Await.until(WAIT, "client tracking on", () -> registry.nearCacheStats().active());
    for (int i = 0; i < 50; i++) {
      assertEquals(Set.of(), await(registry.instancesOf("dan")), "round " + i);
      await(gw.connect(registry, "d-" + i, "dan"));
      assertEquals(Set.of("gw-own"), await(registry.instancesOf("dan")), "round " + i);
      await(gw.disconnect(registry, "d-" + i, "dan"));
    }
    assertTrue(registry.nearCacheStats().entries() <= 1, registry.nearCacheStats().toString());
  }

  @Test
  @DisplayName("with the near cache off every lookup goes to Redis")
  void nearCacheOff() {
    String prefix = support.newStorePrefix();
    RedisConnectionRegistry registry = open(RedisTestSupport.testOptions(prefix).nearCacheMaxEntries(0).build());
    await(registry.instancesOf("erin"));
    await(registry.instancesOf("erin"));
    assertEquals(new NearCacheStats(false, 0, 0, 0, 0), registry.nearCacheStats());
  }

  @Test
  @DisplayName("a restarted instance (same id, new epoch) never resurrects its predecessor's entries")
  void restartWithNewEpoch() {
    String prefix = support.newStorePrefix();
    RedisConnectionRegistry observer = open(RedisTestSupport.testOptions(prefix).build());
    RedisConnectionRegistry before = open(RedisTestSupport.testOptions(prefix).build());
    TestInstanceContext first = new TestInstanceContext("gw-1");
    await(before.attach(first));
    await(first.connect(before, "old-1", "alice"));
    await(first.connect(before, "old-2", "bob"));
    before.close(); // crash: the liveness key is still there when the successor starts

    RedisConnectionRegistry after = open(RedisTestSupport.testOptions(prefix).build());
    TestInstanceContext second = new TestInstanceContext("gw-1");
    await(after.attach(second));
    await(second.connect(after, "new-1", "alice"));

    assertEquals(new Presence("alice", 1, Set.of("gw-1")), await(after.presence("alice")));
    Await.until(WAIT, "observer counts only the successor's connection",
        () -> await(observer.presence("alice")), p -> p.connections() == 1);
    assertEquals(0, await(observer.presence("bob")).connections());
    // The successor's attach swept the predecessor's entries from Redis, not just hid them.
    Await.until(WAIT, "predecessor fields removed",
        () -> support.redis.hkeys(RedisTestSupport.userKey(prefix, "alice")),
        List.of("new-1")::equals);
    Await.until(WAIT, "predecessor fields removed",
        () -> support.redis.exists(RedisTestSupport.userKey(prefix, "bob")), n -> n == 0);
  }

  @Test
  @DisplayName("a sweep removes every entry of a dead instance through its index, and its index")
  void sweepRemovesDeadEntries() {
    String prefix = support.newStorePrefix();
    // Sweeps only when told to, so the test sees its count.
    RedisRegistryOptions options = RedisTestSupport.testOptions(prefix)
        .sweepInterval(Duration.ofHours(1)).build();
    RedisConnectionRegistry survivor = open(options);
    RedisConnectionRegistry doomed = open(options);
    TestInstanceContext a = new TestInstanceContext("a");
    TestInstanceContext b = new TestInstanceContext("b");
    await(survivor.attach(a));
    await(doomed.attach(b));
    await(a.connect(survivor, "a1", "alice"));
    for (int i = 0; i < 1200; i++) { // more than one sweep batch
      await(b.connect(doomed, "b" + i, "user-" + (i % 300)));
    }
    await(b.connect(doomed, "b-alice", "alice"));
    doomed.close();
    support.redis.del(RedisTestSupport.livenessKey(prefix, "b"));

    assertEquals(1201L, await(survivor.sweep()));

    assertEquals(List.of("a1"), support.redis.hkeys(RedisTestSupport.userKey(prefix, "alice")));
    assertEquals(0L, support.redis.exists(RedisTestSupport.userKey(prefix, "user-7")));
    assertTrue(support.redis.keys(prefix + "c:{b}*").isEmpty(), "index of b deleted");
    assertTrue(support.redis.hkeys(prefix + "instances").stream().noneMatch(f -> f.startsWith("b:")),
        "directory entry of b deleted");
    assertEquals(0L, await(survivor.sweep()), "a second sweep finds nothing");
    assertEquals(new Presence("alice", 1, Set.of("a")), await(survivor.presence("alice")));
  }

  @Test
  @DisplayName("an instance whose liveness key was lost re-registers its live connections at the next heartbeat")
  void lostLivenessResyncs() {
    String prefix = support.newStorePrefix();
    RedisConnectionRegistry registry = open(RedisTestSupport.testOptions(prefix)
        .heartbeatInterval(Duration.ofHours(1)).heartbeatTtl(Duration.ofHours(2)).build());
    TestInstanceContext a = new TestInstanceContext("a");
    await(registry.attach(a));
    await(a.connect(registry, "c1", "alice"));
    await(a.connect(registry, "c2", "bob"));
    // Redis lost the data (say, a failover to a replica that had not seen it).
    support.redis.del(RedisTestSupport.livenessKey(prefix, "a"),
        RedisTestSupport.userKey(prefix, "alice"), RedisTestSupport.userKey(prefix, "bob"));

    await(registry.heartbeat());

    assertEquals(1, registry.resyncCount());
    assertEquals(new Presence("alice", 1, Set.of("a")), await(registry.presence("alice")));
    assertEquals(new Presence("bob", 1, Set.of("a")), await(registry.presence("bob")));
  }

  @Test
  @DisplayName("DRAINING is recorded in the instance directory; GONE deletes the liveness key and the entries")
  void statusRecorded() {
    String prefix = support.newStorePrefix();
    RedisConnectionRegistry registry = open(RedisTestSupport.testOptions(prefix).build());
    TestInstanceContext a = new TestInstanceContext("a");
    await(registry.attach(a));
    await(a.connect(registry, "c1", "alice"));

    await(registry.setInstanceStatus("a", InstanceStatus.DRAINING));
    assertEquals(List.of("DRAINING"), support.redis.hvals(prefix + "instances"));

    await(registry.setInstanceStatus("a", InstanceStatus.GONE));
    assertEquals(0L, support.redis.exists(RedisTestSupport.livenessKey(prefix, "a")));
    assertEquals(0L, support.redis.exists(RedisTestSupport.userKey(prefix, "alice")));
    assertTrue(support.redis.hkeys(prefix + "instances").isEmpty());
  }

  @Test
  @DisplayName("registering for an instance that did not attach through this registry fails")
  void registerRequiresAttach() {
    RedisConnectionRegistry registry =
        open(RedisTestSupport.testOptions(support.newStorePrefix()).build());
    ExecutionException e = assertThrows(ExecutionException.class, () -> registry
        .register(new TestInstanceContext("x").connection("c1", "alice"))
        .toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertInstanceOf(IllegalStateException.class, e.getCause());
    assertEquals("instance not attached to this registry: x (expected: attach() first)",
        e.getCause().getMessage());
  }

  @Test
  @DisplayName("create fails with registry_unavailable when Redis cannot be reached")
  void createFailsWhenUnreachable() throws Exception {
    int port = RedisServer.freePort();
    GatewayException e = assertThrows(GatewayException.class, () -> RedisConnectionRegistry.create(
        RedisRegistryOptions.builder().uri("redis://127.0.0.1:" + port)
            .connectTimeout(Duration.ofMillis(500)).build()));
    assertEquals(ErrorCodes.REGISTRY_UNAVAILABLE, e.code());
    assertFalse(e.getMessage().isEmpty());
  }
}
