package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.auth.JwtTokens;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.RawWebSocket.HttpResult;
import io.wsgateway.netty.testing.TestClient;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("The handshake")
class HandshakeTest {

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(
      o -> o.allowedOrigins(Set.of("https://app.example")).maxConnections(4).maxConnectionsPerUser(2), b -> b);

  private static final Map<String, String> ORIGIN = Map.of("Origin", "https://app.example");

  private static HttpResult handshake(String query, Map<String, String> headers) throws Exception {
    try (RawWebSocket ws = RawWebSocket.open(gateway.port(), "/ws" + query, headers, 0)) {
      return ws.handshake();
    }
  }

  @Test
  @DisplayName("without a token is refused with 401 token_missing, and no WebSocket opens")
  void missingToken() throws Exception {
    HttpResult r = handshake("", ORIGIN);
    assertEquals(401, r.status());
    assertTrue(r.body().contains("\"error\":\"token_missing\""), r.body());
    assertEquals("close", r.headers().get("connection"));
  }

  @Test
  @DisplayName("with a token signed by another secret is refused with 401 bad_signature")
  void badSignature() throws Exception {
    String forged = JwtTokens.hs256("another-secret-another-secret-another".getBytes(), "mallory", Map.of(),
        Instant.now().plusSeconds(60));
    HttpResult r = handshake("?access_token=" + forged, ORIGIN);
    assertEquals(401, r.status());
    assertTrue(r.body().contains("bad_signature"), r.body());
  }

  @Test
  @DisplayName("with an expired token is refused with 401 token_expired")
  void expired() throws Exception {
    String token = JwtTokens.hs256(gateway.secret(), "alice", Map.of(), Instant.now().minus(Duration.ofHours(1)));
    HttpResult r = handshake("?access_token=" + token, ORIGIN);
    assertEquals(401, r.status());
    assertTrue(r.body().contains("token_expired"), r.body());
  }

  @Test
  @DisplayName("from an origin outside the allow-list is refused with 403")
  void origin() throws Exception {
    HttpResult r = handshake("?access_token=" + gateway.token("alice"), Map.of("Origin", "https://evil.example"));
    assertEquals(403, r.status());
    assertTrue(r.body().contains("origin_not_allowed"), r.body());
  }

  @Test
  @DisplayName("on another path is answered 404")
  void otherPath() throws Exception {
    try (RawWebSocket ws = RawWebSocket.open(gateway.port(), "/nope?access_token=" + gateway.token("a"), ORIGIN, 0)) {
      assertEquals(404, ws.handshake().status());
      assertTrue(ws.handshake().body().contains("not_found"));
    }
  }

  @Test
  @DisplayName("with a valid token in the query is upgraded (101), and the token also works in the Authorization header")
  void valid() throws Exception {
    HttpResult r = handshake("?access_token=" + gateway.token("alice"), ORIGIN);
    assertEquals(101, r.status());
    HttpResult h = handshake("", Map.of("Origin", "https://app.example", "Authorization", "Bearer " + gateway.token("bob")));
    assertEquals(101, h.status());
  }

  @Test
  @DisplayName("beyond the per-user limit is refused with 429, and beyond the instance limit with 503 and Retry-After")
  void limits() throws Exception {
    String carol = gateway.token("carol");
    try (RawWebSocket a = RawWebSocket.open(gateway.port(), "/ws?access_token=" + carol, ORIGIN, 0);
        RawWebSocket b = RawWebSocket.open(gateway.port(), "/ws?access_token=" + carol, ORIGIN, 0)) {
      assertEquals(101, a.handshake().status());
      assertEquals(101, b.handshake().status());
      assertEquals(429, handshake("?access_token=" + carol, ORIGIN).status());
      try (RawWebSocket c = RawWebSocket.open(gateway.port(), "/ws?access_token=" + gateway.token("dave"), ORIGIN, 0);
          RawWebSocket d = RawWebSocket.open(gateway.port(), "/ws?access_token=" + gateway.token("erin"), ORIGIN, 0)) {
        assertEquals(101, d.handshake().status());
        HttpResult full = handshake("?access_token=" + gateway.token("frank"), ORIGIN);
        assertEquals(503, full.status());
        assertTrue(full.body().contains("instance_full"), full.body());
        assertEquals("5", full.headers().get("retry-after"));
      }
    }
  }

  @Test
  @DisplayName("serves /health and /ready with 200 while running")
  void healthAndReady() throws Exception {
    assertEquals(200, RawWebSocket.get(gateway.port(), "/health", Map.of()).status());
    HttpResult ready = RawWebSocket.get(gateway.port(), "/ready", Map.of());
    assertEquals(200, ready.status());
    assertTrue(ready.body().contains("ready"));
  }

  @Test
  @DisplayName("welcomes an accepted client with session, connection, user, instance, heartbeat and expiry")
  void welcome() {
    TestClient client = gateway.track(TestClient.connectWithHeader(
        java.net.URI.create("ws://127.0.0.1:" + gateway.port() + "/ws"), gateway.token("alice")));
    var w = client.welcome();
    assertEquals("alice", w.path("user").asText());
    assertEquals(gateway.gateway().instanceId(), w.path("instance").asText());
    assertEquals(25_000, w.path("heartbeat_ms").asLong());
    assertTrue(w.path("session").asText().length() >= 16);
    assertTrue(w.path("connection").asText().length() >= 16);
    assertTrue(w.path("expires_at").asLong() > System.currentTimeMillis());
  }
}
