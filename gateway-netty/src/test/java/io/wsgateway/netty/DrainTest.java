package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.CloseCodes;
import io.wsgateway.DrainOptions;
import io.wsgateway.DrainReport;
import io.wsgateway.Gateway;
import io.wsgateway.GatewayListener;
import io.wsgateway.GatewayState;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.TestClient;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Draining an instance")
class DrainTest {

  static final byte[] SECRET = "drain-test-secret-drain-test-secret-!!".getBytes(StandardCharsets.UTF_8);

  TestClient connect(Gateway g, String user) {
    String token = JwtTokens.hs256(SECRET, user, Map.of(), Instant.now().plusSeconds(600));
    return TestClient.connect(URI.create("ws://127.0.0.1:" + g.port() + "/ws?access_token=" + token));
  }

  @Test
  @DisplayName("refuses new clients with 503, fails readiness, hints every client, keeps delivering, closes the rest with 1001 at the deadline")
  void drain() throws Exception {
    List<String> states = new CopyOnWriteArrayList<>();
    Gateway g = NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).adminPort(0).build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(SECRET).build())
        .listener(new GatewayListener() {
          @Override
          public void onStateChanged(GatewayState from, GatewayState to) {
            states.add(from + "->" + to);
          }
        })
        .build();
    g.start();
    try {
      TestClient polite1 = connect(g, "polite1");
      TestClient polite2 = connect(g, "polite2");
      TestClient stubborn = connect(g, "stubborn");

      CompletionStage<DrainReport> drain = g.drain(DrainOptions.builder()
          .reconnectSpread(Duration.ofMillis(300)).deadline(Duration.ofSeconds(3)).build());
      assertSame(drain, g.drain(DrainOptions.defaults()), "drain is idempotent");
      assertEquals(GatewayState.DRAINING, g.state());

      try (RawWebSocket refused = RawWebSocket.open(g.port(), "/ws?access_token="
          + JwtTokens.hs256(SECRET, "late", Map.of(), Instant.now().plusSeconds(60)))) {
        assertEquals(503, refused.handshake().status());
        assertTrue(refused.handshake().headers().containsKey("retry-after"));
      }
      assertEquals(503, RawWebSocket.get(g.port(), "/ready", Map.of()).status());
      assertEquals(200, RawWebSocket.get(g.port(), "/health", Map.of()).status());
      assertTrue(RawWebSocket.get(g.adminPort(), "/admin/state", Map.of()).body().contains("\"state\":\"draining\""));

      // Messages keep flowing to clients still connected.
      g.sendToUser("stubborn", "\"still here\"").toCompletableFuture().join();
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (int i = 0; i < 2; i++) {
        JsonNode f = stubborn.next(n -> n.path("type").asText().matches("message|reconnect"));
        seen.add(f.path("type").asText() + ":" + f.path(f.has("data") ? "data" : "reason").asText());
      }
      assertEquals(java.util.Set.of("message:still here", "reconnect:draining"), seen);

      for (TestClient polite : List.of(polite1, polite2)) {
        JsonNode hint = polite.next("reconnect");
        assertEquals("draining", hint.path("reason").asText());
        assertTrue(hint.path("delay_ms").asLong() >= 0 && hint.path("delay_ms").asLong() <= 1000);
        polite.close();
      }
      assertEquals(CloseCodes.GOING_AWAY, stubborn.awaitClose());

      DrainReport report = drain.toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(3, report.connectionsAtStart());
      assertEquals(2, report.leftAfterHint());
      assertEquals(1, report.closedAtDeadline());
      assertEquals(1, report.messagesDeliveredWhileDraining());
      assertEquals(GatewayState.DRAINED, g.state());
      assertEquals(List.of("NEW->RUNNING", "RUNNING->DRAINING", "DRAINING->DRAINED"), states);
    } finally {
      g.close();
    }
    assertEquals(GatewayState.STOPPED, g.state());
    Gateway neverStarted = NettyGateway.builder()
        .authenticator(JwtAuthenticator.builder().hmacSecret(SECRET).build()).build();
    assertThrows(IllegalStateException.class, () -> neverStarted.drain(DrainOptions.defaults()));
  }

  @Test
  @DisplayName("can be started through POST /admin/drain on the admin port, which the public port does not serve")
  void adminEndpoint() throws Exception {
    Gateway g = NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).adminPort(0).build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(SECRET).build())
        .build();
    g.start();
    try {
      assertEquals(404, RawWebSocket.get(g.port(), "/admin/state", Map.of()).status());
      assertEquals(405, RawWebSocket.get(g.adminPort(), "/admin/drain", Map.of()).status());
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", g.adminPort())) {
        s.getOutputStream().write(("POST /admin/drain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(response.startsWith("HTTP/1.1 202"), response);
      }
      Await.until("drained with no connections", () -> g.state() == GatewayState.DRAINED);
    } finally {
      g.close();
    }
  }
}
