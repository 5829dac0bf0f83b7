package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.CloseCodes;
import io.wsgateway.Connection;
import io.wsgateway.GatewayListener;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.TestClient;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("A client that stops reading")
class SlowConsumerTest {

  static final Map<String, String> closes = new ConcurrentHashMap<>();

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(
      o -> o.writeBufferWaterMarks(8 * 1024, 16 * 1024).writeBufferLimit(256 * 1024)
          .slowConsumerGrace(Duration.ofMillis(300)),
      b -> b.listener(new GatewayListener() {
        @Override
        public void onDisconnected(Connection connection, int code, String reason) {
          closes.put(connection.principal().userId(), code + " " + reason);
        }
      }));

  @Test
  @DisplayName("is closed with 1008 slow consumer, while the others keep receiving everything")
  void slowConsumerIsClosed() throws Exception {
    RawWebSocket slow = gateway.track(RawWebSocket.open(gateway.port(),
        "/ws?access_token=" + gateway.token("slow"), Map.of(), 4096));
    assertEquals(101, slow.handshake().status());
    TestClient fast = gateway.connect("fast");
    String payload = "\"" + "x".repeat(8 * 1024) + "\"";

    int sent = 0;
    long deadline = System.nanoTime() + Await.DEFAULT_TIMEOUT.toNanos();
    // Bounded: stops once the gateway gave up on the slow client, or at the deadline.
    while (!closes.containsKey("slow") && System.nanoTime() < deadline && sent < 20_000) {
      try {
        gateway.gateway().sendToUser("slow", payload).toCompletableFuture().join();
      } catch (java.util.concurrent.CompletionException offline) {
        break; // closed between the check and the send
      }
      gateway.gateway().sendToUser("fast", Integer.toString(sent)).toCompletableFuture().join();
      sent++;
    }
    Await.until("slow consumer closed", () -> closes.containsKey("slow"));
    assertEquals(CloseCodes.POLICY_VIOLATION + " " + CloseCodes.REASON_SLOW_CONSUMER, closes.get("slow"));
    for (int i = 0; i < sent; i++) {
      assertEquals(i, fast.next("message").path("data").asInt());
    }
    gateway.gateway().sendToUser("fast", "\"after\"").toCompletableFuture().join();
    assertEquals("after", fast.next("message").path("data").asText());
    assertTrue(fast.welcome() != null && !fast.isClosed());
  }
}
