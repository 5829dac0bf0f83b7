package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.CloseCodes;
import io.wsgateway.Connection;
import io.wsgateway.GatewayListener;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.TestClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Topic fan-out on one instance (no recovery store, so no topic history and no offsets), where a
 * message is encoded once and its bytes shared by the subscribers: what each subscriber gets must
 * still be exactly the frame it would get alone, and not disturb its own direct messages' seqs.
 */
@DisplayName("Topic fan-out to many connections")
class TopicFanOutTest {

  private static final String TOPIC = "room:fan";
  static final Map<String, String> closes = new ConcurrentHashMap<>();

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(
      o -> o.compression(true).writeBufferWaterMarks(8 * 1024, 16 * 1024).writeBufferLimit(256 * 1024)
          .slowConsumerGrace(Duration.ofMillis(300)),
      b -> b.listener(new GatewayListener() {
        @Override
        public void onDisconnected(Connection connection, int code, String reason) {
          closes.put(connection.principal().userId(), code + " " + reason);
        }
      }));

  /** A raw subscriber: welcomed and subscribed to {@link #TOPIC}, optionally with permessage-deflate. */
  private RawWebSocket subscriber(String user, boolean deflate, int receiveBuffer) throws IOException {
    Map<String, String> headers = deflate ? Map.of("Sec-WebSocket-Extensions", "permessage-deflate") : Map.of();
    RawWebSocket ws = gateway.track(RawWebSocket.open(gateway.port(), "/ws?access_token=" + gateway.token(user, "room:*"),
        headers, receiveBuffer));
    assertEquals(101, ws.handshake().status());
    assertEquals(deflate, ws.handshake().headers().getOrDefault("sec-websocket-extensions", "")
        .contains("permessage-deflate"), ws.handshake().headers().toString());
    assertTrue(ws.readFrame().text().contains("\"type\":\"welcome\""));
    ws.sendText("{\"type\":\"subscribe\",\"topic\":\"" + TOPIC + "\",\"id\":\"s\"}");
    assertEquals("{\"type\":\"ack\",\"id\":\"s\"}", ws.readFrame().text());
    return ws;
  }

  private static String expected(String from, String data) {
    return "{\"type\":\"message\"" + (from == null ? "" : ",\"from\":\"" + from + "\"") + ",\"topic\":\"" + TOPIC
        + "\",\"data\":" + data + "}";
  }

  @Test
  @DisplayName("every subscriber gets the same message, outside its seq stream; permessage-deflate ones get it compressed")
  void identicalFrames() throws Exception {
    List<RawWebSocket> plain = new ArrayList<>();
    List<RawWebSocket> deflate = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      plain.add(subscriber("plain-" + i, false, 0));
      deflate.add(subscriber("deflate-" + i, true, 0));
    }
    TestClient jdk = gateway.connect("jdk", "room:*");
    jdk.send("{\"type\":\"subscribe\",\"topic\":\"" + TOPIC + "\",\"id\":\"s\"}");
    assertEquals("s", jdk.next("ack").path("id").asText());
    // Two connections of each kind have a direct message: a topic message takes no seq of theirs.
    for (String user : List.of("plain-1", "plain-3", "deflate-1", "deflate-3")) {
      gateway.gateway().sendToUser(user, "\"direct\"").toCompletableFuture().join();
    }
    long[] offset = {0, 1, 0, 1};
    for (int i = 0; i < 4; i++) {
      if (offset[i] == 1) {
        assertEquals("{\"type\":\"message\",\"data\":\"direct\",\"seq\":1}", plain.get(i).readFrame().text());
        assertEquals("{\"type\":\"message\",\"data\":\"direct\",\"seq\":1}", deflate.get(i).readFrame().text());
      }
    }

    // Sizes around the frame header's length forms: 7 bits, 16 bits, 64 bits.
    List<String> data = List.of(
        "{\"text\":\"h\u00e9llo \\\"q\\\" \u2603\",\"n\":[1,2]}",
        "\"" + "m".repeat(1_000) + "\"",
        "\"" + "L".repeat(70_000) + "\"");
    for (String d : data) {
      gateway.gateway().publish(TOPIC, d).toCompletableFuture().join();
    }
    jdk.send("{\"type\":\"publish\",\"topic\":\"" + TOPIC + "\",\"data\":{\"by\":\"client\"},\"id\":\"p\"}");
    List<String> froms = new ArrayList<>(List.of("", "", ""));
    List<String> all = new ArrayList<>(data);
    all.add("{\"by\":\"client\"}");
    froms.add("jdk");

    for (int i = 0; i < 4; i++) {
      for (int m = 0; m < all.size(); m++) {
        String want = expected(froms.get(m).isEmpty() ? null : froms.get(m), all.get(m));
        RawWebSocket.Frame f = plain.get(i).readFrame();
        assertEquals(RawWebSocket.TEXT, f.opcode());
        assertTrue(f.fin());
        assertFalse(f.compressed(), "plain connections get uncompressed frames");
        assertEquals(want, new String(f.payload(), StandardCharsets.UTF_8));

        RawWebSocket.Frame z = deflate.get(i).readFrame();
        assertEquals(RawWebSocket.TEXT, z.opcode());
        assertTrue(z.fin());
        assertTrue(z.compressed(), "permessage-deflate connections get compressed frames");
        assertEquals(want, z.text());
      }
    }
    for (int m = 0; m < all.size(); m++) {
      JsonNode got = jdk.next("message");
      assertTrue(got.path("seq").isMissingNode(), got.toString());
      assertEquals(new com.fasterxml.jackson.databind.ObjectMapper().readTree(all.get(m)), got.path("data"));
    }
  }

  @Test
  @DisplayName("a subscriber that stops reading is closed with 1008 slow consumer; the others get every publish in order")
  void slowSubscriberIsClosed() throws Exception {
    RawWebSocket slow = subscriber("slow", false, 4096);
    RawWebSocket slowDeflate = subscriber("slow-deflate", true, 4096);
    TestClient fast = gateway.connect("fast", "room:*");
    fast.send("{\"type\":\"subscribe\",\"topic\":\"" + TOPIC + "\",\"id\":\"s\"}");
    assertEquals("s", fast.next("ack").path("id").asText());

    int sent = 0;
    long deadline = System.nanoTime() + Await.DEFAULT_TIMEOUT.toNanos();
    // Bounded: stops once the gateway gave up on both slow clients, or at the deadline. Paced by the
    // fast subscriber, which must not fall behind itself. Random padding keeps deflated frames large.
    while (!(closes.containsKey("slow") && closes.containsKey("slow-deflate")) && System.nanoTime() < deadline
        && sent < 5_000) {
      gateway.gateway().publish(TOPIC, "{\"i\":" + sent + ",\"pad\":\"" + randomAscii(8 * 1024) + "\"}")
          .toCompletableFuture().join();
      JsonNode m = fast.next("message");
      assertEquals(sent, m.path("data").path("i").asInt());
      sent++;
    }
    Await.until("slow consumers closed", () -> closes.containsKey("slow") && closes.containsKey("slow-deflate"));
    String slowConsumer = CloseCodes.POLICY_VIOLATION + " " + CloseCodes.REASON_SLOW_CONSUMER;
    assertEquals(slowConsumer, closes.get("slow"));
    assertEquals(slowConsumer, closes.get("slow-deflate"));
    assertFalse(fast.isClosed());
    assertFalse(closes.containsKey("fast"), closes.toString());
    slow.close();
    slowDeflate.close();
  }

  @Test
  @DisplayName("a burst of publishes, written in batches that share their flushes, arrives complete and in order")
  void burstArrivesInOrder() throws Exception {
    List<RawWebSocket> raw = List.of(subscriber("burst-plain", false, 0), subscriber("burst-deflate", true, 0));
    TestClient jdk = gateway.connect("burst-jdk", "room:*");
    jdk.send("{\"type\":\"subscribe\",\"topic\":\"" + TOPIC + "\",\"id\":\"s\"}");
    assertEquals("s", jdk.next("ack").path("id").asText());
    int count = 500;
    List<java.util.concurrent.CompletableFuture<Void>> published = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      published.add(gateway.gateway().publish(TOPIC, Integer.toString(i)).toCompletableFuture());
    }
    published.forEach(java.util.concurrent.CompletableFuture::join);
    for (RawWebSocket ws : raw) {
      for (int i = 0; i < count; i++) {
        assertEquals(expected(null, Integer.toString(i)), ws.readFrame().text());
      }
    }
    for (int i = 0; i < count; i++) {
      JsonNode m = jdk.next("message");
      assertEquals(i, m.path("data").asInt());
    }
  }

  private static String randomAscii(int length) {
    char[] chars = new char[length];
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    for (int i = 0; i < length; i++) {
      chars[i] = (char) ('a' + random.nextInt(26));
    }
    return new String(chars);
  }
}
