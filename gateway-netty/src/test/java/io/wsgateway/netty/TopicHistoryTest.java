package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.TestClient;
import io.wsgateway.recovery.InMemoryRecoveryStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Topics with a history (a recovery store): publications numbered by offset in an epoch, the same
 * frame for every subscriber, and a subscription that catches up from the client's last offset.
 */
@DisplayName("Topic history")
class TopicHistoryTest {

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(o -> o,
      b -> b.recovery(InMemoryRecoveryStore.builder().topicMaxMessages(5).build()));

  private static JsonNode subscribe(TestClient c, String topic, String since) {
    return c.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topic\":\"" + topic + "\"" + since + "}").next("ack");
  }

  private static void publish(String topic, String data) {
    gateway.gateway().publish(topic, data).toCompletableFuture().join();
  }

  @Test
  @DisplayName("the subscribe ack gives the position; every subscriber gets the same frame, numbered by offset")
  void offsets() throws Exception {
    RawWebSocket raw = gateway.track(RawWebSocket.open(gateway.port(), "/ws?access_token="
        + gateway.token("h-raw", "h:*"), Map.of(), 0));
    assertEquals(101, raw.handshake().status());
    assertTrue(raw.readFrame().text().contains("\"type\":\"welcome\""));
    publish("h:offsets", "\"before\"");
    raw.sendText("{\"type\":\"subscribe\",\"topic\":\"h:offsets\",\"id\":\"s\"}");
    String ack = raw.readFrame().text();
    assertTrue(ack.startsWith("{\"type\":\"ack\",\"id\":\"s\",\"topic\":\"h:offsets\",\"offset\":1,\"epoch\":\""), ack);
    TestClient jdk = gateway.connect("h-jdk", "h:*");
    assertEquals(1, subscribe(jdk, "h:offsets", "").path("offset").asLong());

    publish("h:offsets", "{\"n\":2}");
    jdk.send("{\"type\":\"publish\",\"topic\":\"h:offsets\",\"data\":3,\"id\":\"p\"}");
    assertEquals("{\"type\":\"message\",\"topic\":\"h:offsets\",\"data\":{\"n\":2},\"offset\":2}", raw.readFrame().text());
    assertEquals("{\"type\":\"message\",\"from\":\"h-jdk\",\"topic\":\"h:offsets\",\"data\":3,\"offset\":3}",
        raw.readFrame().text());
    List<JsonNode> got = new ArrayList<>();
    while (got.size() < 2) {
      JsonNode f = jdk.next(m -> m.path("type").asText().equals("message"));
      got.add(f);
    }
    assertEquals(List.of(2L, 3L), got.stream().map(m -> m.path("offset").asLong()).toList());
    assertTrue(got.get(0).path("seq").isMissingNode(), "outside the session's stream: " + got.get(0));
  }

  @Test
  @DisplayName("a subscribe with since and epoch catches up on what was published after it, then goes live, in order")
  void catchUp() {
    TestClient first = gateway.connect("h-catch", "h:*");
    JsonNode ack = subscribe(first, "h:catch", "");
    String epoch = ack.path("epoch").asText();
    publish("h:catch", "1");
    assertEquals(1, first.next("message").path("offset").asLong());
    first.close();

    publish("h:catch", "2");
    publish("h:catch", "3");
    TestClient back = gateway.connect("h-catch", "h:*");
    JsonNode resumed = subscribe(back, "h:catch", ",\"since\":1,\"epoch\":\"" + epoch + "\"");
    assertTrue(resumed.path("recovered").asBoolean(), resumed.toString());
    assertEquals(1, resumed.path("offset").asLong());
    publish("h:catch", "4");
    List<JsonNode> got = back.next("message", 3);
    assertEquals(List.of(2, 3, 4), got.stream().map(m -> m.path("data").asInt()).toList());
    assertEquals(List.of(2L, 3L, 4L), got.stream().map(m -> m.path("offset").asLong()).toList());
  }

  @Test
  @DisplayName("a catch-up that cannot be complete says why (trimmed, another epoch) and starts at the current position")
  void catchUpRefused() {
    TestClient c = gateway.connect("h-refused", "h:*");
    String epoch = subscribe(c, "h:trim", "").path("epoch").asText();
    c.send("{\"type\":\"unsubscribe\",\"topic\":\"h:trim\",\"id\":\"u\"}").next("ack");
    for (int i = 1; i <= 8; i++) { // the history keeps 5
      publish("h:trim", Integer.toString(i));
    }
    JsonNode trimmed = subscribe(c, "h:trim", ",\"since\":1,\"epoch\":\"" + epoch + "\"");
    assertFalse(trimmed.path("recovered").asBoolean(true), trimmed.toString());
    assertEquals("trimmed", trimmed.path("reason").asText());
    assertEquals(8, trimmed.path("offset").asLong());
    c.send("{\"type\":\"unsubscribe\",\"topic\":\"h:trim\",\"id\":\"u\"}").next("ack");

    JsonNode otherEpoch = subscribe(c, "h:trim", ",\"since\":8,\"epoch\":\"zzzz\"");
    assertFalse(otherEpoch.path("recovered").asBoolean(true), otherEpoch.toString());
    assertEquals("epoch_changed", otherEpoch.path("reason").asText());

    JsonNode noEpoch = c.send("{\"type\":\"subscribe\",\"id\":\"x\",\"topic\":\"h:other\",\"since\":3}").next("error");
    assertEquals("malformed", noEpoch.path("code").asText());
  }
}
