package io.wsgateway.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.Connection;
import io.wsgateway.GatewayListener;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.GatewayExtension;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("GatewayClient against a real gateway")
class GatewayClientTest {

  /** Connections by user, so a test can have the host close one. */
  static final Map<String, Connection> CONNECTIONS = new ConcurrentHashMap<>();

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(
      // Short heartbeats: a client that did not answer pings would be closed within a test.
      o -> o.pingInterval(Duration.ofMillis(200)).idleTimeout(Duration.ofMillis(700)),
      b -> b.listener(new GatewayListener() {
        @Override
        public void onConnected(Connection connection) {
          CONNECTIONS.put(connection.principal().userId(), connection);
        }
      }));

  GatewayClient client(String user, Recorder recorder, String... topics) {
    return gateway.track(GatewayClient.builder()
        .uri(URI.create("ws://127.0.0.1:" + gateway.port() + "/ws"))
        .token(gateway.token(user, topics))
        .listener(recorder)
        .build());
  }

  static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(Await.DEFAULT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
  }

  static ClientException failure(CompletionStage<?> stage) {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> stage.toCompletableFuture().get(Await.DEFAULT_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
    return assertInstanceOf(ClientException.class, e.getCause());
  }

  @Test
  @DisplayName("connects, sends with acks to another client, which sees the messages in order with seq 1..n")
  void sendInOrder() throws Exception {
    Recorder alice = new Recorder();
    Recorder bob = new Recorder();
    GatewayClient a = client("alice", alice);
    GatewayClient b = client("bob", bob);
    await(a.connect());
    await(b.connect());
    assertEquals(ClientState.CONNECTED, a.state());
    assertNotNull(a.sessionId());
    assertEquals(List.of("IDLE->CONNECTING", "CONNECTING->CONNECTED"), alice.states);

    int n = 50;
    CompletableFuture<?>[] acks = new CompletableFuture<?>[n];
    for (int i = 0; i < n; i++) {
      acks[i] = a.send("bob", "{\"i\":" + i + "}").toCompletableFuture();
    }
    await(CompletableFuture.allOf(acks));
    Await.until("bob got " + n + " messages", () -> bob.messages.size() == n);
    assertEquals(LongStream.rangeClosed(1, n).boxed().toList(), bob.messages.stream().map(ClientMessage::seq).toList());
    for (int i = 0; i < n; i++) {
      ClientMessage m = bob.messages.get(i);
      assertEquals("{\"i\":" + i + "}", m.data());
      assertEquals("alice", m.from());
      assertNull(m.topic());
    }
    assertEquals(n, b.lastSeq());
    assertEquals(List.of(), alice.errors);
  }

  @Test
  @DisplayName("subscribes and publishes with acks; topic messages carry the topic, and no number from a gateway without topic history")
  void topics() throws Exception {
    Recorder sub = new Recorder();
    GatewayClient s = client("sub", sub, "room:*");
    GatewayClient p = client("pub", new Recorder(), "room:*");
    await(s.connect());
    await(p.connect());
    await(s.subscribe("room:lobby"));
    await(p.publish("room:lobby", "\"hello room\""));
    Await.until("the subscriber got the topic message", () -> sub.messages.size() == 1);
    ClientMessage m = sub.messages.get(0);
    assertEquals("room:lobby", m.topic());
    assertEquals("\"hello room\"", m.data());
    assertEquals("pub", m.from());
    assertEquals(0, m.seq(), "no recovery store: not numbered");
    assertEquals(0, s.lastSeq(), "topic messages are outside the session's seq");
    await(p.publish("room:lobby", "\"again\""));
    Await.until("the second topic message", () -> sub.messages.size() == 2);
    await(s.unsubscribe("room:lobby"));
  }

  @Test
  @DisplayName("fails the stage with the server's error code: user_offline, not_authorized; invalid data at once")
  void errors() throws Exception {
    GatewayClient a = client("lonely", new Recorder());
    await(a.connect());
    assertEquals("user_offline", failure(a.send("nobody-here", "1")).code());
    assertEquals("not_authorized", failure(a.subscribe("secret")).code());
    assertEquals(ClientException.INVALID_FRAME, failure(a.send("x", "1,\"to\":\"y\"")).code());
    assertEquals(ClientException.INVALID_FRAME, failure(a.sendFrame("[1]")).code());
    ClientException custom = failure(a.sendFrame("{\"type\":\"custom\",\"id\":\"mine-1\"}"));
    assertEquals("unknown_type", custom.code());
  }

  @Test
  @DisplayName("answers the server's pings: the connection outlives the server's idle timeout")
  void pongs() throws Exception {
    Recorder r = new Recorder();
    GatewayClient a = client("quiet", r);
    await(a.connect());
    String session = a.sessionId();
    // The server closes silent clients after 0.7-0.9 s; a send after 2 s proves the socket stayed up.
    long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    Await.until("two seconds passed", () -> System.nanoTime() > until);
    assertEquals("user_offline", failure(a.send("nobody", "1")).code());
    assertEquals(session, a.sessionId());
    assertEquals(List.of("IDLE->CONNECTING", "CONNECTING->CONNECTED"), r.states);
  }

  @Test
  @DisplayName("reconnects after the server closes the connection, reports resume_failed on a new session and re-subscribes its topics")
  void reconnectAfterServerClose() throws Exception {
    Recorder r = new Recorder();
    GatewayClient c = client("kicked", r, "news");
    GatewayClient sender = client("sender", new Recorder(), "news");
    await(c.connect());
    await(sender.connect());
    await(c.subscribe("news"));
    await(sender.send("kicked", "1"));
    Await.until("first message", () -> r.messages.size() == 1);
    String firstSession = c.sessionId();

    CONNECTIONS.get("kicked").close(4002, "kicked by test");
    Await.until("reconnected", () -> c.state() == ClientState.CONNECTED && r.states.contains("RECONNECTING->CONNECTED"));
    assertTrue(r.errors.stream().anyMatch(e -> e.startsWith("connection_lost: closed by the server: 4002")),
        r.errors.toString());
    if (firstSession.equals(c.sessionId())) {
      // The server resumed: numbering continues and nothing is reported.
      assertEquals(0, r.errorCount(ClientException.RESUME_FAILED), r.errors.toString());
    } else {
      // A new session (today's server does not resume): the client says so and starts numbering again.
      assertEquals(1, r.errorCount(ClientException.RESUME_FAILED), r.errors.toString());
      assertEquals(0, c.lastSeq());
    }

    // The client subscribes again after every reconnect (the re-subscribe ack may lag, hence the
    // repeated publish).
    Await.until("topic message after the reconnect", () -> {
      sender.publish("news", "\"again\"");
      return r.data().contains("\"again\"");
    });
    await(sender.send("kicked", "2"));
    Await.until("direct message on the new connection", () -> r.data().contains("2"));
    assertEquals(1, r.data().stream().filter("1"::equals).count(), "delivered once: " + r.data());
    assertEquals(1, r.data().stream().filter("2"::equals).count(), "delivered once: " + r.data());
    assertInOrderPerSession(r.direct().stream().map(ClientMessage::seq).toList(), r.errorCount(ClientException.RESUME_FAILED));
  }

  /** Each direct message's seq is the previous plus one, except a restart at 1 where a resume failed. */
  static void assertInOrderPerSession(List<Long> seqs, long failedResumes) {
    long restarts = 0;
    long previous = 0;
    for (long seq : seqs) {
      if (seq == 1 && previous != 0) {
        restarts++;
      } else {
        assertEquals(previous + 1, seq, "seqs " + seqs);
      }
      previous = seq;
    }
    assertTrue(restarts <= failedResumes, "seqs " + seqs + " restart " + restarts + " times, resume failed " + failedResumes);
  }

  @Test
  @DisplayName("queues operations while disconnected and writes them after the welcome; refuses beyond maxPendingSends")
  void queueing() throws Exception {
    Recorder bob = new Recorder();
    GatewayClient b = client("queue-bob", bob);
    await(b.connect());
    GatewayClient a = gateway.track(GatewayClient.builder()
        .uri(URI.create("ws://127.0.0.1:" + gateway.port() + "/ws"))
        .token(gateway.token("queue-alice"))
        .options(ClientOptions.builder().maxPendingSends(2).build())
        .build());
    CompletionStage<Void> first = a.send("queue-bob", "1");
    CompletionStage<Void> second = a.send("queue-bob", "2");
    assertEquals(ClientException.CLIENT_OVERLOADED, failure(a.send("queue-bob", "3")).code());
    await(a.connect());
    await(first);
    await(second);
    Await.until("both arrived in order", () -> bob.data().equals(List.of("1", "2")));
  }

  @Test
  @DisplayName("keeps its connection past the token's expiry by refreshing with tokens from the supplier")
  void refresh() throws Exception {
    AtomicInteger issued = new AtomicInteger();
    Recorder r = new Recorder();
    // Each token lives 3 s; the client refreshes at 80% of the remaining lifetime. exp has whole-second precision.
    GatewayClient c = gateway.track(GatewayClient.builder()
        .uri(URI.create("ws://127.0.0.1:" + gateway.port() + "/ws"))
        .tokenSupplier(() -> {
          issued.incrementAndGet();
          return CompletableFuture.completedFuture(JwtTokens.hs256(gateway.secret(), "refresher", Map.of(),
              Instant.now().plusSeconds(3)));
        })
        .listener(r)
        .build());
    await(c.connect());
    String session = c.sessionId();
    long firstExpiry = System.currentTimeMillis() + 3_000;
    Await.until("two refreshes and past the first token's expiry",
        () -> issued.get() >= 3 && System.currentTimeMillis() > firstExpiry + 1_000, Duration.ofSeconds(15));
    assertEquals(ClientState.CONNECTED, c.state());
    assertEquals(session, c.sessionId(), "same connection");
    assertEquals(List.of("IDLE->CONNECTING", "CONNECTING->CONNECTED"), r.states);
    assertEquals(List.of(), r.errors);
  }

  @Test
  @DisplayName("retries a closed port with backoff, reporting each failed attempt; close() stops it")
  void backoff() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    Recorder r = new Recorder();
    GatewayClient c = GatewayClient.builder()
        .uri(URI.create("ws://127.0.0.1:" + port + "/ws"))
        .token("irrelevant")
        .listener(r)
        .options(ClientOptions.builder().reconnectBackoffMin(Duration.ofMillis(10))
            .reconnectBackoffMax(Duration.ofMillis(50)).build())
        .build();
    try {
      CompletionStage<Void> connected = c.connect();
      Await.until("five failed attempts", () -> r.errorCount(ClientException.CONNECT_FAILED) >= 5);
      assertEquals(ClientState.RECONNECTING, c.state());
      assertTrue(r.errors.get(0).contains("Connection refused"), r.errors.get(0));
      c.close();
      assertEquals(ClientException.CLIENT_CLOSED, failure(connected).code());
      long attempts = r.errorCount(ClientException.CONNECT_FAILED);
      assertEquals(List.of("IDLE->CONNECTING", "CONNECTING->RECONNECTING", "RECONNECTING->CLOSED"), r.states);
      assertEquals(attempts, r.errorCount(ClientException.CONNECT_FAILED), "no attempt after close()");
      assertEquals(ClientException.CLIENT_CLOSED, failure(c.send("x", "1")).code());
    } finally {
      c.close();
    }
  }

  @Test
  @DisplayName("fails connect() with the server's code when the first handshake is refused, and returns to IDLE")
  void refused() throws Exception {
    Recorder r = new Recorder();
    GatewayClient c = gateway.track(GatewayClient.builder()
        .uri(URI.create("ws://127.0.0.1:" + gateway.port() + "/ws"))
        .token(JwtTokens.hs256(gateway.secret(), "late", Map.of(), Instant.now().minusSeconds(3600)))
        .listener(r)
        .build());
    ClientException e = failure(c.connect());
    assertEquals("token_expired", e.code());
    assertTrue(e.getMessage().contains("401"), e.getMessage());
    assertEquals(ClientState.IDLE, c.state());
  }
}
