package io.wsgateway.redis;

import io.wsgateway.testkit.RedisServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.UserAppend;
import io.wsgateway.registry.Presence;
import io.wsgateway.testkit.Await;
import io.wsgateway.testkit.registry.TestInstanceContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A Redis outage against a private redis-server: registry and recovery store calls fail fast; the
 * registry resyncs afterwards, the store shows the loss and restores.
 */
class RedisOutageTest {

  private static RedisServer server;

  @BeforeAll
  static void startServer() throws Exception {
    server = RedisServer.startOnFreePort();
  }

  @AfterAll
  static void stopServer() throws Exception {
    server.close();
  }

  @Test
  @DisplayName("during an outage calls fail fast with registry_unavailable; afterwards the live connections are re-registered")
  void outageFailsFastThenResyncs() throws Exception {
    RedisRegistryOptions options = RedisRegistryOptions.builder()
        .uri(server.uri())
        .keyPrefix("wsgwtest:outage:")
        .commandTimeout(Duration.ofMillis(500))
        .heartbeatInterval(Duration.ofMillis(100))
        .heartbeatTtl(Duration.ofSeconds(2))
        .maxReconnectDelay(Duration.ofMillis(200))
        .build();
    try (RedisConnectionRegistry registry = RedisConnectionRegistry.create(options)) {
      TestInstanceContext instance = new TestInstanceContext("gw-1");
      RedisConnectionRegistryTest.await(registry.attach(instance));
      for (int i = 0; i < 50; i++) {
        RedisConnectionRegistryTest.await(instance.connect(registry, "c" + i, "user-" + (i % 10)));
      }
      assertEquals(5, RedisConnectionRegistryTest.await(registry.presence("user-3")).connections());

      server.kill();

      // Fails fast: rejected while disconnected, or timed out by the command timeout at worst. A
      // lookup may be answered from the near cache until the registry has seen the connection close
      // (microseconds here); never after.
      long start = System.nanoTime();
      Await.until(Duration.ofMillis(1500), "lookups fail with registry_unavailable",
          () -> failsUnavailable(registry.presence("user-3")));
      assertFalse(registry.nearCacheStats().active(), registry.nearCacheStats().toString());
      assertUnavailable(registry.presence("user-3"));
      assertUnavailable(instance.connect(registry, "during-outage", "user-3"));
      long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(elapsedMillis < 1500, "failed within " + elapsedMillis + " ms");

      server.start(); // same port, empty data

      Await.until(Duration.ofSeconds(15), "resync after the outage", registry::resyncCount, n -> n >= 1);
      Presence p = Await.until(Duration.ofSeconds(10), "user-3's connections back",
          () -> RedisConnectionRegistryTest.await(registry.presence("user-3")),
          x -> x.connections() == 6);
      assertEquals(Set.of("gw-1"), p.instances());
      // Every live connection of the instance, including the one registered during the outage.
      int total = 0;
      for (int u = 0; u < 10; u++) {
        total += RedisConnectionRegistryTest.await(registry.presence("user-" + u)).connections();
      }
      assertEquals(51, total);
      // The near cache answers again once Redis tracks the new connection.
      Await.until(Duration.ofSeconds(10), "near cache active again", () -> registry.nearCacheStats().active());
      long hits = registry.nearCacheStats().hits();
      assertEquals(6, RedisConnectionRegistryTest.await(registry.presence("user-3")).connections());
      assertEquals(6, RedisConnectionRegistryTest.await(registry.presence("user-3")).connections());
      assertTrue(registry.nearCacheStats().hits() > hits, registry.nearCacheStats().toString());
    }
  }

  @Test
  @DisplayName("the recovery store fails fast with store_unavailable during an outage; after Redis restarted empty its incarnation changed, and a restored session goes on in order")
  void storeOutageThenRestore() throws Exception {
    RedisRecoveryOptions options = RedisRecoveryOptions.builder()
        .uri(server.uri())
        .keyPrefix("wsgwtest:outage-store:")
        .commandTimeout(Duration.ofMillis(500))
        .build();
    try (RedisRecoveryStore store = RedisRecoveryStore.create(options)) {
      String incarnation = Await.success(CALL, "incarnation", store.incarnation());
      long epoch = Await.success(CALL, "create", store.create("alice", "s1", "gw-1/c1")).epoch();
      for (int i = 1; i <= 5; i++) {
        Await.success(CALL, "append", store.appendToUser("alice", "m" + i, frame(i), false));
      }

      server.kill();

      long start = System.nanoTime();
      Await.until(Duration.ofMillis(1500), "appends fail with store_unavailable",
          () -> failsWith(store.appendToUser("alice", "lost", frame(0), false), ErrorCodes.STORE_UNAVAILABLE));
      assertFailsWith(store.read("alice", "s1", 0), ErrorCodes.STORE_UNAVAILABLE);
      assertFailsWith(store.appendToTopic("news", "p1", frame(0), false), ErrorCodes.STORE_UNAVAILABLE);
      long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(elapsedMillis < 1500, "failed within " + elapsedMillis + " ms");

      server.start(); // same port, empty data: the scripts are gone too

      String next = Await.until(Duration.ofSeconds(15), "the store answers again",
          () -> store.incarnation().toCompletableFuture().join(), x -> true);
      assertNotEquals(incarnation, next, "the loss shows as a new incarnation");
      assertEquals(List.of(), Await.success(CALL, "append", store.appendToUser("alice", "x", frame(0), false)).sessions());

      SessionState restored = Await.success(CALL, "restore", store.restore("alice", "s1", "gw-1/c1", 5));
      assertEquals(5, restored.lastSeq());
      assertNotEquals(epoch, restored.epoch());
      List<CompletableFuture<UserAppend>> appends = new ArrayList<>();
      for (int i = 6; i <= 105; i++) {
        appends.add(store.appendToUser("alice", "m" + i, frame(i), false).toCompletableFuture());
      }
      for (int i = 6; i <= 105; i++) {
        assertEquals(i, Await.success(CALL, "append m" + i, appends.get(i - 6)).sessions().get(0).seq());
      }
      assertEquals(Backlog.Status.LOST, Await.success(CALL, "read", store.read("alice", "s1", 2)).status());
      Backlog after = Await.success(CALL, "read", store.read("alice", "s1", 5));
      assertEquals(Backlog.Status.COMPLETE, after.status());
      assertEquals(100, after.messages().size());
      assertEquals("m6", after.messages().get(0).id());
    }
  }

  private static final Duration CALL = Duration.ofSeconds(10);

  private static byte[] frame(int i) {
    return ("f" + i).getBytes(StandardCharsets.UTF_8);
  }

  private static boolean failsWith(CompletionStage<?> stage, String code) {
    try {
      stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
      return false;
    } catch (ExecutionException e) {
      return e.getCause() instanceof GatewayException g && code.equals(g.code());
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      return false;
    }
  }

  private static void assertFailsWith(CompletionStage<?> stage, String code) throws InterruptedException {
    try {
      stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
      fail("expected " + code);
    } catch (ExecutionException e) {
      GatewayException g = assertInstanceOf(GatewayException.class, e.getCause());
      assertEquals(code, g.code());
    } catch (java.util.concurrent.TimeoutException e) {
      fail("did not fail fast");
    }
  }

  private static boolean failsUnavailable(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
      return false;
    } catch (ExecutionException e) {
      return e.getCause() instanceof GatewayException g && ErrorCodes.REGISTRY_UNAVAILABLE.equals(g.code());
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      return false;
    }
  }

  private static void assertUnavailable(CompletionStage<?> stage) throws InterruptedException {
    try {
      stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
      fail("expected registry_unavailable");
    } catch (ExecutionException e) {
      GatewayException g = assertInstanceOf(GatewayException.class, e.getCause());
      assertEquals(ErrorCodes.REGISTRY_UNAVAILABLE, g.code());
    } catch (java.util.concurrent.TimeoutException e) {
      fail("did not fail fast");
    }
  }
}
