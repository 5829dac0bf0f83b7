package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.ErrorCodes;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.TestClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("Messaging on one gateway")
class MessagingTest {

  static final List<String> hostFrames = new CopyOnWriteArrayList<>();

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(o -> o,
      b -> b.messageHandler((connection, type, frame) -> {
        hostFrames.add(connection.principal().userId() + ":" + type + ":" + frame);
        connection.sendFrame("{\"type\":\"echo\",\"of\":\"" + type + "\"}");
      }));

  @Test
  @DisplayName("acks echo every kind of id, and senders' names arrive intact, plain or escaped")
  void idsAndNamesThatNeedEscaping() {
    TestClient plain = gateway.connect("carl");
    TestClient quoted = gateway.connect("dé\"q\\uote");
    TestClient target = gateway.connect("erin");
    String longId = "x".repeat(128);
    plain.send("{\"type\":\"send\",\"to\":\"erin\",\"data\":1,\"id\":\"" + longId + "\"}");
    assertEquals(longId, plain.next("ack").path("id").asText());
    plain.send("{\"type\":\"send\",\"to\":\"erin\",\"data\":2,\"id\":42}");
    assertEquals("42", plain.next("ack").path("id").asText());
    plain.send("{\"type\":\"send\",\"to\":\"erin\",\"data\":3,\"id\":\"a\\\"b\\\\c\\u00e9\\n\"}");
    assertEquals("a\"b\\c\u00e9\n", plain.next("ack").path("id").asText());
    quoted.send("{\"type\":\"send\",\"to\":\"erin\",\"data\":4,\"id\":\"q\"}");
    assertEquals("q", quoted.next("ack").path("id").asText());
    for (int i = 1; i <= 3; i++) {
      JsonNode m = target.next("message");
      assertEquals("carl", m.path("from").asText());
      assertEquals(i, m.path("data").asInt());
    }
    JsonNode m = target.next("message");
    assertEquals("dé\"q\\uote", m.path("from").asText());
    assertEquals(4, m.path("seq").asLong());
  }

  @Test
  @DisplayName("a send to a user with two connections reaches both, with from, data and seq from 1")
  void sendReachesEveryConnection() {
    TestClient alice = gateway.connect("alice");
    TestClient bob1 = gateway.connect("bob");
    TestClient bob2 = gateway.connect("bob");
    alice.send("{\"type\":\"send\",\"to\":\"bob\",\"data\":{\"text\":\"hi\",\"n\":[1,2]},\"id\":\"m1\"}");
    assertEquals("m1", alice.next("ack").path("id").asText());
    for (TestClient bob : List.of(bob1, bob2)) {
      JsonNode m = bob.next("message");
      assertEquals("alice", m.path("from").asText());
      assertEquals("hi", m.path("data").path("text").asText());
      assertEquals(2, m.path("data").path("n").get(1).asInt());
      assertEquals(1, m.path("seq").asLong());
      assertTrue(m.path("topic").isMissingNode());
    }
  }

  @Test
  @DisplayName("seq counts the messages of a session from 1 without gaps, in order")
  void seqIsContiguous() {
    TestClient sender = gateway.connect("s");
    TestClient receiver = gateway.connect("r");
    for (int i = 0; i < 200; i++) {
      sender.send("{\"type\":\"send\",\"to\":\"r\",\"data\":" + i + "}");
    }
    List<JsonNode> got = receiver.next("message", 200);
    for (int i = 0; i < 200; i++) {
      assertEquals(i + 1, got.get(i).path("seq").asLong());
      assertEquals(i, got.get(i).path("data").asInt());
    }
  }

  @Test
  @DisplayName("a send to an offline user is answered with error user_offline, by id")
  void offlineUser() {
    TestClient alice = gateway.connect("alice");
    JsonNode error = alice.send("{\"type\":\"send\",\"to\":\"nobody\",\"data\":1,\"id\":7}").next("error");
    assertEquals("7", error.path("id").asText());
    assertEquals(ErrorCodes.USER_OFFLINE, error.path("code").asText());
  }

  @Test
  @DisplayName("malformed JSON gets an error frame and the connection stays open")
  void malformedJson() {
    TestClient alice = gateway.connect("alice");
    JsonNode error = alice.send("{not json").next("error");
    assertEquals(ErrorCodes.MALFORMED, error.path("code").asText());
    assertTrue(error.path("id").isMissingNode());
    assertEquals(ErrorCodes.MALFORMED, alice.send("[1,2]").next("error").path("code").asText());
    assertEquals(ErrorCodes.MALFORMED,
        alice.send("{\"type\":\"send\",\"to\":\"bob\",\"id\":\"x\"}").next("error").path("code").asText());
    alice.send("{\"type\":\"subscribe\",\"topic\":\"t\",\"id\":\"still-open\"}");
    JsonNode after = alice.next(f -> f.path("id").asText().equals("still-open"));
    assertFalse(alice.isClosed());
    assertEquals("error", after.path("type").asText()); // no topics claim: not authorized, but answered
    assertEquals(ErrorCodes.NOT_AUTHORIZED, after.path("code").asText());
  }

  @Test
  @DisplayName("a reserved type a client may not send gets unknown_type; other types go to the host hook")
  void reservedAndCustomTypes() {
    TestClient alice = gateway.connect("alice");
    JsonNode error = alice.send("{\"type\":\"welcome\",\"id\":\"w\"}").next("error");
    assertEquals(ErrorCodes.UNKNOWN_TYPE, error.path("code").asText());
    alice.send("{\"type\":\"typing\",\"to\":\"bob\"}");
    assertEquals("typing", alice.next("echo").path("of").asText());
    Await.until("host hook saw the frame", () -> hostFrames.contains("alice:typing:{\"type\":\"typing\",\"to\":\"bob\"}"));
  }

  @Test
  @DisplayName("topics: subscribe, publish and unsubscribe, governed by the topics claim")
  void topics() throws Exception {
    TestClient alice = gateway.connect("alice", "room:*");
    TestClient bob = gateway.connect("bob", "room:1");
    TestClient eve = gateway.connect("eve");
    assertEquals("a", alice.send("{\"type\":\"subscribe\",\"topic\":\"room:1\",\"id\":\"a\"}").next("ack").path("id").asText());
    assertEquals("b", bob.send("{\"type\":\"subscribe\",\"topic\":\"room:1\",\"id\":\"b\"}").next("ack").path("id").asText());
    JsonNode denied = bob.send("{\"type\":\"subscribe\",\"topic\":\"room:2\",\"id\":\"c\"}").next("error");
    assertEquals(ErrorCodes.NOT_AUTHORIZED, denied.path("code").asText());
    assertEquals(ErrorCodes.NOT_AUTHORIZED,
        eve.send("{\"type\":\"publish\",\"topic\":\"room:1\",\"data\":1,\"id\":\"e\"}").next("error").path("code").asText());

    bob.send("{\"type\":\"publish\",\"topic\":\"room:1\",\"data\":{\"t\":\"hello\"},\"id\":\"p\"}");
    assertEquals("p", bob.next("ack").path("id").asText());
    for (TestClient c : List.of(alice, bob)) {
      JsonNode m = c.next("message");
      assertEquals("room:1", m.path("topic").asText());
      assertEquals("bob", m.path("from").asText());
      assertEquals("hello", m.path("data").path("t").asText());
    }

    alice.send("{\"type\":\"unsubscribe\",\"topic\":\"room:1\",\"id\":\"u\"}").next("ack");
    bob.send("{\"type\":\"publish\",\"topic\":\"room:1\",\"data\":2,\"id\":\"p2\"}").next("ack");
    assertEquals(2, bob.next("message").path("data").asInt());
    // Bob's copy arrived, so alice's would have too had she still been subscribed: same broker pass.
    JsonNode late = alice.poll(Duration.ofMillis(200));
    assertNull(late, "alice got a message after unsubscribing: " + late);
  }

  @Test
  @DisplayName("the host sends to users and publishes to topics through the Gateway API")
  void hostApi() {
    TestClient carol = gateway.connect("carol", "news");
    carol.send("{\"type\":\"subscribe\",\"topic\":\"news\",\"id\":\"s\"}").next("ack");
    gateway.gateway().sendToUser("carol", "{\"k\":1}").toCompletableFuture().join();
    JsonNode direct = carol.next("message");
    assertEquals(1, direct.path("data").path("k").asInt());
    assertTrue(direct.path("from").isMissingNode());
    gateway.gateway().publish("news", "\"extra\"").toCompletableFuture().join();
    JsonNode topic = carol.next("message");
    assertEquals("extra", topic.path("data").asText());
    assertTrue(topic.path("seq").isMissingNode(), "a topic message is outside the session's stream: " + topic);
    gateway.gateway().sendToUser("carol", "2").toCompletableFuture().join();
    assertEquals(2, carol.next("message").path("seq").asLong());
    assertEquals(1, gateway.gateway().connections().stream().filter(c -> c.principal().userId().equals("carol")).count());
  }
}
