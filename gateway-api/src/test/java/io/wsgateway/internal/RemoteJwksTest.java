package io.wsgateway.internal;

import io.wsgateway.auth.MutableClock;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The JWK set cache against a real local HTTP server: refresh times from Cache-Control, and fetch deadlines. */
class RemoteJwksTest {

  private static final Instant START = Instant.parse("2030-01-01T00:00:00Z");
  private static final RemoteJwks.Settings SETTINGS = new RemoteJwks.Settings(Duration.ofSeconds(30),
      Duration.ofMinutes(10), Duration.ofMinutes(1), Duration.ofDays(1), Duration.ofMillis(500));

  private static RSAKey rsa1;

  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicReference<String> cacheControl = new AtomicReference<>();
  /** Held by the stalling handlers until the test ends. */
  private final CountDownLatch release = new CountDownLatch(1);
  private final MutableClock clock = new MutableClock(START);
  private ExecutorService executor;
  private HttpServer server;
  private HttpClient client;

  @BeforeAll
  static void keys() throws Exception {
    rsa1 = new RSAKeyGenerator(2048).keyID("r1").generate();
  }

  @BeforeEach
  void start() throws IOException {
    executor = Executors.newCachedThreadPool();
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(executor);
    byte[] body = new JWKSet(List.<JWK>of(rsa1)).toPublicJWKSet().toString().getBytes(UTF_8);
    server.createContext("/jwks", exchange -> {
      requests.incrementAndGet();
      if (cacheControl.get() != null) {
        exchange.getResponseHeaders().add("Cache-Control", cacheControl.get());
      }
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    // Headers at once, then half the body, then nothing: a fetch deadline must cover the body too.
    server.createContext("/slow-body", exchange -> {
      requests.incrementAndGet();
      exchange.sendResponseHeaders(200, body.length);
      OutputStream out = exchange.getResponseBody();
      out.write(body, 0, body.length / 2);
      out.flush();
      awaitRelease();
      exchange.close();
    });
    // Never answers at all.
    server.createContext("/never", exchange -> {
      requests.incrementAndGet();
      awaitRelease();
      exchange.close();
    });
    server.start();
    client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  private void awaitRelease() {
    try {
      release.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @AfterEach
  void stop() {
    release.countDown();
    server.stop(0);
    executor.shutdownNow();
  }

  private RemoteJwks jwks(String path) {
    URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    return new RemoteJwks(uri, client, clock, SETTINGS);
  }

  private static RemoteJwks.Snapshot await(RemoteJwks jwks) throws Exception {
    return jwks.refresh().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** The time of the next periodic refresh after a fetch at START answered with this Cache-Control. */
  private Instant refreshAtFor(String header) throws Exception {
    cacheControl.set(header);
    RemoteJwks.Snapshot snapshot = await(jwks("/jwks"));
    assertNull(snapshot.failure());
    assertEquals(1, snapshot.keys().size());
    return snapshot.refreshAt();
  }

  @Test
  @DisplayName("Without Cache-Control the set is refreshed after the configured interval")
  void defaultInterval() throws Exception {
    assertEquals(START.plus(Duration.ofMinutes(10)), refreshAtFor(null));
  }

  @Test
  @DisplayName("max-age within the bounds is honoured, also among other directives")
  void maxAgeHonoured() throws Exception {
    assertEquals(START.plusSeconds(3600), refreshAtFor("public, max-age=3600, must-revalidate"));
  }

  @Test
  @DisplayName("A max-age below the lower bound is raised to it")
  void maxAgeTooShort() throws Exception {
    assertEquals(START.plus(Duration.ofMinutes(1)), refreshAtFor("max-age=5"));
  }

  @Test
  @DisplayName("no-cache, no-store and max-age=0 mean the lower bound, not a fetch per token")
  void noCache() throws Exception {
    for (String header : List.of("no-cache", "no-store", "max-age=0")) {
      assertEquals(START.plus(Duration.ofMinutes(1)), jwksRefreshAt(header), header);
    }
  }

  private Instant jwksRefreshAt(String header) throws Exception {
    cacheControl.set(header);
    return await(jwks("/jwks")).refreshAt();
  }

  @Test
  @DisplayName("A max-age above the upper bound is lowered to it")
  void maxAgeTooLong() throws Exception {
    assertEquals(START.plus(Duration.ofDays(1)), refreshAtFor("max-age=864000"));
  }

  @Test
  @DisplayName("A malformed max-age is ignored in favour of the configured interval")
  void maxAgeMalformed() throws Exception {
    assertEquals(START.plus(Duration.ofMinutes(10)), refreshAtFor("max-age=soon"));
    assertEquals(START.plus(Duration.ofMinutes(10)), jwksRefreshAt("max-age=99999999999999999999999"));
  }

  @Test
  @DisplayName("A refresh is due before the first fetch and from the refresh time on, not before")
  void refreshDue() throws Exception {
    RemoteJwks jwks = jwks("/jwks");
    assertTrue(jwks.refreshDue(), "nothing fetched yet");
    cacheControl.set("max-age=3600");
    await(jwks);
    assertFalse(jwks.refreshDue());
    clock.advance(Duration.ofMinutes(59));
    assertFalse(jwks.refreshDue());
    clock.advance(Duration.ofMinutes(1));
    assertTrue(jwks.refreshDue());
  }

  @Test
  @DisplayName("current() starts a refresh in the background once due, and meanwhile serves the keys it has")
  void currentRefreshesInBackground() throws Exception {
    RemoteJwks jwks = jwks("/jwks");
    await(jwks);
    assertEquals(1, requests.get());
    clock.advance(Duration.ofMinutes(10));
    RemoteJwks.Snapshot served = jwks.current();
    assertEquals(1, served.keys().size(), "the old keys while the refresh runs");
    awaitCondition("a background refresh", () -> !jwks.snapshot().refreshAt().equals(START.plus(Duration.ofMinutes(10))));
    assertEquals(START.plus(Duration.ofMinutes(20)), jwks.snapshot().refreshAt());
    assertEquals(2, requests.get());
  }

  @Test
  @DisplayName("A body that stalls after the headers fails the fetch at the deadline instead of hanging it")
  void slowBodyHitsDeadline() throws Exception {
    RemoteJwks jwks = jwks("/slow-body");
    RemoteJwks.Snapshot snapshot = await(jwks);
    assertFalse(snapshot.loaded());
    assertTrue(snapshot.failure().contains("no complete response within PT0.5S"), snapshot.failure());
  }

  @Test
  @DisplayName("A server that never answers fails the fetch at the deadline, and the next fetch is not blocked by it")
  void neverAnswers() throws Exception {
    RemoteJwks jwks = jwks("/never");
    RemoteJwks.Snapshot snapshot = await(jwks);
    assertFalse(snapshot.loaded());
    assertTrue(snapshot.failure().contains("no complete response within PT0.5S"), snapshot.failure());
    clock.advance(Duration.ofSeconds(31));
    RemoteJwks.Snapshot second = await(jwks);
    assertFalse(second.loaded());
    assertTrue(second.failure().contains("no complete response within PT0.5S"), second.failure());
    awaitCondition("a second request reached the server", () -> requests.get() == 2);
  }

  /** Polls until {@code condition} holds; fails after 10 s. */
  private void awaitCondition(String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, () -> "timed out waiting for " + what + "; requests=" + requests.get());
      java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
    }
  }
}
