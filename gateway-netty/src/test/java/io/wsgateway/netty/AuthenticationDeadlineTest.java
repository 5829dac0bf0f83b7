package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.Gateway;
import io.wsgateway.Principal;
import io.wsgateway.auth.AuthResult;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.RawWebSocket.HttpResult;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The authentication deadline")
class AuthenticationDeadlineTest {

  /** What the authenticator answers for user {@code hang}: a stage the test completes, or never. */
  private final AtomicReference<CompletableFuture<AuthResult>> pending = new AtomicReference<>();
  private final AtomicInteger hangCalls = new AtomicInteger();
  private Gateway gateway;

  @BeforeEach
  void start() {
    start(Duration.ofMillis(300));
  }

  private void start(Duration authenticationTimeout) {
    if (gateway != null) {
      gateway.close();
    }
    gateway = NettyGateway.builder()
        // One slot: a slot held by a hung authentication would refuse every later client.
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).maxConnections(1)
            .authenticationTimeout(authenticationTimeout).build())
        .authenticator(request -> {
          String user = request.queryParameter("user");
          if (user.equals("hang")) {
            hangCalls.incrementAndGet();
            return pending.get();
          }
          return CompletableFuture.completedFuture(AuthResult.accept(Principal.of(user)));
        })
        .build();
    gateway.start();
  }

  @AfterEach
  void stop() {
    gateway.close();
    gateway = null;
  }

  private HttpResult handshake(String user) throws Exception {
    try (RawWebSocket ws = RawWebSocket.open(gateway.port(), "/ws?user=" + user, Map.of(), 0)) {
      return ws.handshake();
    }
  }

  @Test
  @DisplayName("an authenticator that never completes gets 503 auth_timeout with Retry-After, and the slot is freed")
  void neverCompletes() throws Exception {
    pending.set(new CompletableFuture<>());
    HttpResult r = handshake("hang");
    assertEquals(503, r.status(), r.body());
    assertEquals("{\"error\":\"auth_timeout\",\"message\":\"authentication did not complete within PT0.3S\"}",
        r.body());
    assertEquals("5", r.headers().get("retry-after"));
    assertEquals("close", r.headers().get("connection"));
    assertEquals(101, handshake("alice").status(), "the only admission slot was given back");
  }

  @Test
  @DisplayName("a client that leaves while it is being authenticated gives its slot back at once")
  void clientLeaves() throws Exception {
    start(Duration.ofHours(1));
    pending.set(new CompletableFuture<>());
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", gateway.port())) {
      socket.getOutputStream().write(("GET /ws?user=hang HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
          + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      Await.until("the authenticator was called", () -> hangCalls.get() == 1);
    }
    // Polled: the server sees the disconnect a moment after the client closes.
    Await.until("a new client is admitted (101) in the only slot", () -> {
      try {
        return handshake("alice").status() == 101;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  @DisplayName("defaults to 5 s; a zero or negative timeout is refused; toString prints it")
  void options() {
    assertEquals(Duration.ofSeconds(5), GatewayOptions.defaults().authenticationTimeout());
    assertEquals("authenticationTimeout: PT0S (expected: > 0)", org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> GatewayOptions.builder().authenticationTimeout(Duration.ZERO))
        .getMessage());
    String printed = GatewayOptions.builder().authenticationTimeout(Duration.ofSeconds(2)).build().toBuilder().build()
        .toString();
    assertTrue(printed.contains("authenticationTimeout=PT2S"), printed);
  }

  @Test
  @DisplayName("a result that arrives after the deadline is ignored: no connection, no slot taken")
  void lateResult() throws Exception {
    CompletableFuture<AuthResult> late = new CompletableFuture<>();
    pending.set(late);
    assertEquals(503, handshake("hang").status());
    assertEquals(1, hangCalls.get());
    late.complete(AuthResult.accept(Principal.of("hang")));
    assertEquals(0, gateway.connectionCount());
    try (RawWebSocket ws = RawWebSocket.open(gateway.port(), "/ws?user=bob", Map.of(), 0)) {
      assertEquals(101, ws.handshake().status());
      Await.until("bob counted as the only connection", () -> gateway.connectionCount() == 1);
    }
  }
}
