package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.DrainOptions;
import io.wsgateway.Gateway;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.broker.InProcessBroker;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.TestClient;
import io.wsgateway.recovery.InMemoryRecoveryStore;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InMemoryConnectionRegistry;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Resuming a session")
class ResumeTest {

  static final byte[] SECRET = "resume-test-secret-resume-test-secret!".getBytes(StandardCharsets.UTF_8);
  MessageBroker broker;
  ConnectionRegistry registry;
  RecoveryStore store;
  final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeEach
  void setUp() {
    broker = InProcessBroker.create();
    registry = InMemoryConnectionRegistry.create();
    store = InMemoryRecoveryStore.create(Duration.ofSeconds(30), 1_000, Clock.systemUTC());
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
    broker.close();
    registry.close();
    store.close();
  }

  Gateway gateway(String id, RecoveryStore recovery) {
    NettyGateway.Builder b = NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).instanceId(id).build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(SECRET).build())
        .registry(registry)
        .broker(broker);
    if (recovery != null) {
      b.recovery(recovery);
    }
    Gateway g = b.build();
    g.start();
    toClose.add(0, g);
    return g;
  }

  TestClient connect(Gateway g, String user, String query) {
    String token = JwtTokens.hs256(SECRET, user, Map.of("topics", List.of("*")), Instant.now().plusSeconds(600));
    TestClient c = TestClient.connect(URI.create("ws://127.0.0.1:" + g.port() + "/ws?access_token=" + token + query));
    toClose.add(0, c);
    return c;
  }

  @Test
  @DisplayName("on another instance replays exactly the missed messages in order, then live ones; a resubscribe catches up its topic")
  void resumeElsewhere() {
    Gateway one = gateway("one", store);
    Gateway two = gateway("two", store);
    TestClient first = connect(one, "alice", "");
    String session = first.welcome().path("session").asText();
    JsonNode subscribed = first.send("{\"type\":\"subscribe\",\"topic\":\"news\",\"id\":\"s\"}").next("ack");
    String epoch = subscribed.path("epoch").asText();
    assertEquals(0, subscribed.path("offset").asLong(), subscribed.toString());
    two.publish("news", "\"before\"").toCompletableFuture().join();
    JsonNode before = first.next("message");
    assertEquals(1, before.path("offset").asLong(), before.toString());
    assertTrue(before.path("seq").isMissingNode(), "a topic message is not in the session's stream: " + before);
    for (int i = 1; i <= 2; i++) {
      two.sendToUser("alice", Integer.toString(i)).toCompletableFuture().join();
    }
    assertEquals(2, first.next("message", 2).get(1).path("seq").asLong());
    first.close();
    Await.until("alice's connection closed on one", () -> one.connectionCount() == 0);

    // While alice is away, her direct messages go to her session, the topic's to its history.
    two.sendToUser("alice", "3").toCompletableFuture().join();
    two.publish("news", "\"topic while away\"").toCompletableFuture().join();
    two.sendToUser("alice", "4").toCompletableFuture().join();

    TestClient back = connect(two, "alice", "&session=" + session + "&last_seq=2");
    assertTrue(back.welcome().path("resumed").asBoolean(), back.welcome().toString());
    assertEquals(session, back.welcome().path("session").asText());
    List<JsonNode> missed = back.next("message", 2);
    assertEquals(List.of(3L, 4L), missed.stream().map(m -> m.path("seq").asLong()).toList());
    assertEquals(List.of("3", "4"), missed.stream().map(m -> m.path("data").asText()).toList());

    JsonNode resubscribed = back.send("{\"type\":\"subscribe\",\"topic\":\"news\",\"id\":\"r\",\"since\":1,\"epoch\":\""
        + epoch + "\"}").next("ack");
    assertTrue(resubscribed.path("recovered").asBoolean(), resubscribed.toString());
    JsonNode caughtUp = back.next("message");
    assertEquals("topic while away", caughtUp.path("data").asText());
    assertEquals(2, caughtUp.path("offset").asLong());

    one.sendToUser("alice", "5").toCompletableFuture().join();
    JsonNode live = back.next("message");
    assertEquals(5, live.path("seq").asLong(), () -> "missed " + missed + " then " + live);
    assertEquals("5", live.path("data").asText());
    one.publish("news", "\"live\"").toCompletableFuture().join();
    JsonNode topic = back.next("message");
    assertEquals("live", topic.path("data").asText());
    assertEquals(3, topic.path("offset").asLong());
    assertEquals(null, pollQuietly(back), "no duplicates");
  }

  @Test
  @DisplayName("keeps messages for a session whose instance died without a drain, for the client's resume elsewhere")
  void ownerGoneWithoutDrain() {
    // A session whose owner, instance "crashed", is gone: never detached, and not in the registry.
    store.create("dave", "crashed-session", "crashed/c1").toCompletableFuture().join();
    store.appendToUser("dave", "m1", "{\"type\":\"message\",\"data\":\"before\",\"seq\":".getBytes(StandardCharsets.UTF_8),
        false).toCompletableFuture().join();
    Gateway two = gateway("two", store);

    // No instance holds dave, yet the send is accepted: it is kept for his session.
    two.sendToUser("dave", "\"while away\"").toCompletableFuture().join();

    TestClient back = connect(two, "dave", "&session=crashed-session&last_seq=0");
    assertTrue(back.welcome().path("resumed").asBoolean(), back.welcome().toString());
    List<JsonNode> missed = back.next("message", 2);
    assertEquals(List.of(1L, 2L), missed.stream().map(m -> m.path("seq").asLong()).toList());
    assertEquals("while away", missed.get(1).path("data").asText());

    // A user with no session anywhere is still offline.
    Throwable offline = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class,
        () -> two.sendToUser("erin", "\"x\"").toCompletableFuture().join());
    assertTrue(offline.getCause().getMessage().contains("offline"), offline.toString());
  }

  @Test
  @DisplayName("answers resumed:false with a reason for an unknown session, trimmed history, or no recovery store")
  void resumeFailures() {
    RecoveryStore small = InMemoryRecoveryStore.create(Duration.ofSeconds(30), 5, Clock.systemUTC());
    toClose.add(small);
    Gateway one = gateway("one", small);
    TestClient unknown = connect(one, "bob", "&session=nosuchsession&last_seq=4");
    assertEquals(false, unknown.welcome().path("resumed").asBoolean(true));
    assertEquals("unknown_session", unknown.welcome().path("reason").asText());
    assertNotEquals("nosuchsession", unknown.welcome().path("session").asText());

    TestClient carol = connect(one, "carol", "");
    String session = carol.welcome().path("session").asText();
    carol.close();
    Await.until("carol gone", () -> one.connectionCount() == 1);
    for (int i = 0; i < 8; i++) { // the store keeps 5 per session
      one.sendToUser("carol", Integer.toString(i)).toCompletableFuture().join();
    }
    TestClient late = connect(one, "carol", "&session=" + session + "&last_seq=0");
    assertEquals(false, late.welcome().path("resumed").asBoolean(true));
    assertEquals("trimmed", late.welcome().path("reason").asText());

    Gateway plain = gateway("plain", null);
    TestClient noStore = connect(plain, "dave", "&session=" + session + "&last_seq=0");
    assertEquals("recovery_disabled", noStore.welcome().path("reason").asText());
  }

  @Test
  @DisplayName("survives a drain: a client told to reconnect resumes on another instance without loss or duplicates")
  void drainHandover() throws Exception {
    Gateway one = gateway("one", store);
    Gateway two = gateway("two", store);
    TestClient receiver = connect(one, "erin", "");
    String session = receiver.welcome().path("session").asText();
    var drain = one.drain(DrainOptions.builder().reconnectSpread(Duration.ZERO).deadline(Duration.ofSeconds(5))
        .maxClientDelay(Duration.ZERO).build());
    int sent = 0;
    for (; sent < 50; sent++) {
      two.sendToUser("erin", Integer.toString(sent)).toCompletableFuture().join();
    }
    long lastSeq = 0;
    List<Integer> got = new ArrayList<>();
    receiver.next("reconnect");
    while (lastSeq < sent) {
      JsonNode m = receiver.poll(Duration.ofMillis(200));
      if (m == null) {
        break;
      }
      if (m.path("type").asText().equals("message")) {
        got.add(m.path("data").asInt());
        lastSeq = m.path("seq").asLong();
      }
    }
    receiver.close();
    for (; sent < 80; sent++) {
      two.sendToUser("erin", Integer.toString(sent)).toCompletableFuture().join();
    }
    long lastSeqFinal = lastSeq;
    TestClient resumed = connect(two, "erin", "&session=" + session + "&last_seq=" + lastSeq);
    assertTrue(resumed.welcome().path("resumed").asBoolean(), resumed.welcome().toString());
    drain.toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    for (; sent < 100; sent++) {
      one.state(); // the drained instance still exists; messages now route to two
      two.sendToUser("erin", Integer.toString(sent)).toCompletableFuture().join();
    }
    long expectSeq = lastSeq + 1;
    List<String> trace = new ArrayList<>();
    trace.add("welcome " + resumed.welcome());
    while (got.size() < 100) {
      JsonNode m;
      try {
        m = resumed.next("message");
      } catch (AssertionError e) {
        throw new AssertionError("after resume from seq " + lastSeq + " got " + got.size() + ": " + got, e);
      }
      trace.add(m.toString());
      assertEquals(expectSeq++, m.path("seq").asLong(), () -> "lastSeq " + lastSeqFinal + " got " + got + " trace " + trace);
      got.add(m.path("data").asInt());
    }
    for (int i = 0; i < 100; i++) {
      assertEquals(i, got.get(i));
    }
  }

  private static JsonNode pollQuietly(TestClient c) {
    try {
      return c.poll(Duration.ofMillis(200));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
