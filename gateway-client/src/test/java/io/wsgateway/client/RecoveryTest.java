package io.wsgateway.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.CloseCodes;
import io.wsgateway.Connection;
import io.wsgateway.Gateway;
import io.wsgateway.GatewayListener;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.NettyGateway;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.recovery.InMemoryRecoveryStore;
import io.wsgateway.recovery.RecoveryStore;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The client against a real gateway with a recovery store: sessions resumed by seq, topics caught up
 * by offset after every reconnect, and what could not be recovered reported.
 */
@DisplayName("GatewayClient against a gateway with a recovery store")
class RecoveryTest {

  static final byte[] SECRET = "client-recovery-secret-client-recovery!".getBytes(StandardCharsets.UTF_8);

  final List<AutoCloseable> toClose = new ArrayList<>();
  /** The latest connection of each user, so a test can have the host close it. */
  final Map<String, Connection> connections = new ConcurrentHashMap<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  Gateway gateway(RecoveryStore store) {
    toClose.add(store);
    Gateway g = NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(SECRET).build())
        .recovery(store)
        .listener(new GatewayListener() {
          @Override
          public void onConnected(Connection connection) {
            connections.put(connection.principal().userId(), connection);
          }
        })
        .build();
    g.start();
    toClose.add(0, g);
    return g;
  }

  GatewayClient client(Gateway g, String user, Recorder recorder, Supplier<CompletionStage<String>> tokens) {
    GatewayClient c = GatewayClient.builder()
        .uri(URI.create("ws://127.0.0.1:" + g.port() + "/ws"))
        .tokenSupplier(tokens)
        .listener(recorder)
        .build();
    toClose.add(0, c);
    return c;
  }

  static String token(String user) {
    return JwtTokens.hs256(SECRET, user, Map.of("topics", List.of("*")), Instant.now().plusSeconds(600));
  }

  /** Holds the client's reconnects (its token) while closed, so that messages pile up while it is away. */
  static final class Gate {
    private volatile CompletableFuture<Void> open = CompletableFuture.completedFuture(null);

    Supplier<CompletionStage<String>> tokens(String user) {
      return () -> open.thenApply(v -> token(user));
    }

    void close() {
      open = new CompletableFuture<>();
    }

    void open() {
      open.complete(null);
    }
  }

  /** The host closes the user's connection; the client reconnects and waits at the gate if it is closed. */
  void kick(GatewayClient c, Recorder r, String user) {
    long lost = r.errorCount(ClientException.CONNECTION_LOST);
    connections.get(user).close(CloseCodes.GOING_AWAY, "kicked by the test");
    Await.until(user + " lost its connection", () -> r.errorCount(ClientException.CONNECTION_LOST) > lost
        && c.state() == ClientState.RECONNECTING);
  }

  static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(Await.DEFAULT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
  }

  static List<Long> numbers(List<ClientMessage> messages) {
    return messages.stream().map(ClientMessage::seq).toList();
  }

  static List<String> data(List<ClientMessage> messages) {
    return messages.stream().map(ClientMessage::data).toList();
  }

  static List<Long> oneTo(long n) {
    return LongStream.rangeClosed(1, n).boxed().toList();
  }

  static void assertNothingLost(Recorder r) {
    for (String code : List.of(ClientException.RESUME_FAILED, ClientException.GAP, ClientException.TOPIC_GAP,
        ClientException.RESUBSCRIBE_FAILED)) {
      assertEquals(0, r.errorCount(code), "errors " + r.errors);
    }
  }

  @Test
  @DisplayName("delivers the topic messages published while it was away after the reconnect (subscribe with since), "
      + "exactly once and in order, and the direct messages sent meanwhile")
  void catchUpAfterReconnect() throws Exception {
    Gateway g = gateway(InMemoryRecoveryStore.create());
    Gate gate = new Gate();
    Recorder r = new Recorder();
    GatewayClient c = client(g, "reader", r, gate.tokens("reader"));
    await(c.connect());
    String session = c.sessionId();
    await(c.subscribe("news"));
    await(c.subscribe("sports"));
    g.publish("news", "\"n1\"").toCompletableFuture().join();
    g.sendToUser("reader", "\"d1\"").toCompletableFuture().join();
    g.publish("sports", "\"s1\"").toCompletableFuture().join();
    Await.until("the first three messages", () -> r.messages.size() == 3);

    gate.close();
    kick(c, r, "reader");
    for (int i = 2; i <= 4; i++) {
      g.publish("news", "\"n" + i + "\"").toCompletableFuture().join();
      g.sendToUser("reader", "\"d" + i + "\"").toCompletableFuture().join();
      g.publish("sports", "\"s" + i + "\"").toCompletableFuture().join();
    }
    gate.open();
    Await.until("the messages sent while away", () -> r.messages.size() == 12);
    g.publish("news", "\"n5\"").toCompletableFuture().join();
    g.sendToUser("reader", "\"d5\"").toCompletableFuture().join();
    Await.until("live messages after the catch-up", () -> r.messages.size() == 14);

    assertEquals(session, c.sessionId(), "resumed");
    assertEquals(List.of("\"d1\"", "\"d2\"", "\"d3\"", "\"d4\"", "\"d5\""), data(r.direct()));
    assertEquals(oneTo(5), numbers(r.direct()));
    assertEquals(List.of("\"n1\"", "\"n2\"", "\"n3\"", "\"n4\"", "\"n5\""), data(r.topic("news")));
    assertEquals(oneTo(5), numbers(r.topic("news")), "a topic message's number is its offset");
    assertEquals(List.of("\"s1\"", "\"s2\"", "\"s3\"", "\"s4\""), data(r.topic("sports")));
    assertEquals(oneTo(4), numbers(r.topic("sports")));
    assertEquals(5, c.lastSeq());
    assertNothingLost(r);
  }

  @Test
  @DisplayName("under repeated disconnects while messages flow, delivers every direct and topic message exactly once and in order")
  void churn() throws Exception {
    Gateway g = gateway(InMemoryRecoveryStore.create());
    Recorder r = new Recorder();
    GatewayClient c = client(g, "churner", r, () -> CompletableFuture.completedFuture(token("churner")));
    await(c.connect());
    await(c.subscribe("churn"));
    AtomicInteger sent = new AtomicInteger();
    // Per round: messages in flight when the connection is closed, sent while the client is away or
    // resuming, and right after it is back (while it catches up).
    Runnable batch = () -> {
      for (int i = 0; i < 20; i++) {
        String n = Integer.toString(sent.incrementAndGet());
        g.sendToUser("churner", n).toCompletableFuture().join();
        g.publish("churn", n).toCompletableFuture().join();
      }
    };
    int rounds = 4;
    for (int round = 1; round <= rounds; round++) {
      batch.run();
      Connection kicked = connections.get("churner");
      kicked.close(CloseCodes.GOING_AWAY, "kicked by the test");
      batch.run();
      int reconnects = round;
      Await.until("reconnect " + round, () -> r.states.stream().filter("RECONNECTING->CONNECTED"::equals).count()
          == reconnects && c.state() == ClientState.CONNECTED && connections.get("churner") != kicked);
      batch.run();
    }
    int n = sent.get();
    Await.until("all " + 2 * n + " messages", () -> r.messages.size() >= 2 * n);
    // A fence: anything delivered twice would have arrived before it.
    g.publish("churn", "\"fence\"").toCompletableFuture().join();
    Await.until("the fence", () -> r.data().contains("\"fence\""));

    List<String> expected = IntStream.rangeClosed(1, n).mapToObj(Integer::toString).toList();
    assertEquals(expected, data(r.direct()));
    assertEquals(oneTo(n), numbers(r.direct()));
    assertEquals(expected, data(r.topic("churn")).subList(0, n));
    assertEquals(oneTo(n + 1), numbers(r.topic("churn")));
    assertEquals(rounds, r.errorCount(ClientException.CONNECTION_LOST), r.errors.toString());
    assertNothingLost(r);
  }

  @Test
  @DisplayName("reports a re-subscribe that could not catch up (recovered:false, trimmed) as topic_gap, and goes on from the ack's offset")
  void recoveredFalse() throws Exception {
    Gateway g = gateway(InMemoryRecoveryStore.builder().topicMaxMessages(3).build());
    Gate gate = new Gate();
    Recorder r = new Recorder();
    GatewayClient c = client(g, "trimmed", r, gate.tokens("trimmed"));
    await(c.connect());
    await(c.subscribe("trim"));
    g.publish("trim", "\"t1\"").toCompletableFuture().join();
    Await.until("t1", () -> r.messages.size() == 1);

    gate.close();
    kick(c, r, "trimmed");
    for (int i = 2; i <= 6; i++) { // offsets 2..6; the history keeps 4..6, so 2 and 3 are gone
      g.publish("trim", "\"t" + i + "\"").toCompletableFuture().join();
    }
    gate.open();
    Await.until("topic_gap reported", () -> r.errorCount(ClientException.TOPIC_GAP) == 1);
    assertTrue(r.errors.contains("topic_gap: trim: trimmed"), r.errors.toString());
    g.publish("trim", "\"t7\"").toCompletableFuture().join();
    Await.until("t7", () -> r.data().contains("\"t7\""));
    assertEquals(List.of("\"t1\"", "\"t7\""), data(r.topic("trim")));
    assertEquals(List.of(1L, 7L), numbers(r.topic("trim")));
    assertEquals(0, r.errorCount(ClientException.RESUME_FAILED), r.errors.toString());
  }

  @Test
  @DisplayName("reports a session gap frame (direct messages trimmed before they could be written) as gap, and delivers on after it")
  void sessionGap() throws Exception {
    FaultyStore store = new FaultyStore(InMemoryRecoveryStore.builder().maxMessages(2).build());
    Gateway g = gateway(store);
    Recorder r = new Recorder();
    GatewayClient c = client(g, "gappy", r, () -> CompletableFuture.completedFuture(token("gappy")));
    await(c.connect());
    g.sendToUser("gappy", "\"d1\"").toCompletableFuture().join();
    Await.until("d1", () -> r.messages.size() == 1);

    // Seqs 2..4 are stored but never notified; by the time 5 arrives and the gateway reads the gap
    // from the store, the session keeps only 4 and 5: 2 and 3 are lost.
    store.loseNotificationsOf("lost");
    for (int i = 2; i <= 4; i++) {
      g.sendToUser("gappy", "\"lost" + i + "\"").toCompletableFuture().join();
    }
    g.sendToUser("gappy", "\"d5\"").toCompletableFuture().join();
    Await.until("d5", () -> r.data().contains("\"d5\""));
    assertEquals(List.of("gap: trimmed: direct messages before seq 5 are lost"), r.errors);
    assertEquals(List.of(1L, 5L), numbers(r.direct()));
    assertEquals(5, c.lastSeq());

    g.sendToUser("gappy", "\"d6\"").toCompletableFuture().join();
    Await.until("d6", () -> r.data().contains("\"d6\""));
    assertEquals(List.of(1L, 5L, 6L), numbers(r.direct()));
    assertEquals(List.of("IDLE->CONNECTING", "CONNECTING->CONNECTED"), r.states, "no reconnect");
  }

  @Test
  @DisplayName("reports a topic gap frame (the history was lost and restarted in a new epoch) as topic_gap, and catches up in the new epoch after a reconnect")
  void topicHistoryReset() throws Exception {
    MutableClock clock = new MutableClock();
    Gateway g = gateway(InMemoryRecoveryStore.builder().clock(clock).build());
    Gate gate = new Gate();
    Recorder r = new Recorder();
    GatewayClient c = client(g, "reset", r, gate.tokens("reset"));
    await(c.connect());
    await(c.subscribe("epochs"));
    g.publish("epochs", "\"r1\"").toCompletableFuture().join();
    Await.until("r1", () -> r.messages.size() == 1);

    clock.advance(Duration.ofDays(2)); // past the store's retention of a topic's metadata: a new epoch
    g.publish("epochs", "\"r2\"").toCompletableFuture().join();
    Await.until("r2", () -> r.data().contains("\"r2\""));
    assertEquals(List.of("topic_gap: epochs: history_reset"), r.errors);
    assertEquals(List.of(1L, 1L), numbers(r.topic("epochs")), "numbered from 1 in the new epoch");

    gate.close();
    kick(c, r, "reset");
    g.publish("epochs", "\"r3\"").toCompletableFuture().join();
    gate.open();
    Await.until("r3, caught up in the new epoch", () -> r.data().contains("\"r3\""));
    g.publish("epochs", "\"r4\"").toCompletableFuture().join();
    Await.until("r4", () -> r.data().contains("\"r4\""));
    assertEquals(List.of("\"r1\"", "\"r2\"", "\"r3\"", "\"r4\""), data(r.topic("epochs")));
    assertEquals(List.of(1L, 1L, 2L, 3L), numbers(r.topic("epochs")));
    assertEquals(1, r.errorCount(ClientException.TOPIC_GAP), r.errors.toString());
  }

  @Test
  @DisplayName("does not deliver across a gap in seq or offset: reconnects, resumes and catches up, and delivers each message once")
  void noDeliveryAcrossAGap() throws Exception {
    Gateway g = gateway(InMemoryRecoveryStore.create());
    Recorder r = new Recorder();
    GatewayClient c = client(g, "skipper", r, () -> CompletableFuture.completedFuture(token("skipper")));
    await(c.connect());
    await(c.subscribe("room"));
    g.publish("room", "\"m1\"").toCompletableFuture().join();
    g.sendToUser("skipper", "\"d1\"").toCompletableFuture().join();
    Await.until("m1 and d1", () -> r.messages.size() == 2);

    // Frames numbered past the next one, as a faulty path would deliver them (the host writes them
    // outside the numbered streams): neither may be delivered, and what follows must arrive once.
    Connection first = connections.get("skipper");
    await(first.sendFrame("{\"type\":\"message\",\"topic\":\"room\",\"data\":\"bogus\",\"offset\":9}"));
    g.publish("room", "\"m2\"").toCompletableFuture().join();
    g.sendToUser("skipper", "\"d2\"").toCompletableFuture().join();
    Await.until("reconnected", () -> r.states.contains("RECONNECTING->CONNECTED") && c.state() == ClientState.CONNECTED);
    Await.until("m2 and d2", () -> r.messages.size() == 4);

    Connection second = connections.get("skipper");
    await(second.sendFrame("{\"type\":\"message\",\"from\":\"x\",\"data\":\"bogus\",\"seq\":9}"));
    g.sendToUser("skipper", "\"d3\"").toCompletableFuture().join();
    g.publish("room", "\"m3\"").toCompletableFuture().join();
    Await.until("reconnected twice", () -> r.states.stream().filter("RECONNECTING->CONNECTED"::equals).count() == 2
        && c.state() == ClientState.CONNECTED);
    Await.until("m3 and d3", () -> r.messages.size() == 6);
    g.publish("room", "\"fence\"").toCompletableFuture().join();
    Await.until("the fence", () -> r.data().contains("\"fence\""));

    assertEquals(List.of("\"d1\"", "\"d2\"", "\"d3\""), data(r.direct()));
    assertEquals(oneTo(3), numbers(r.direct()));
    assertEquals(List.of("\"m1\"", "\"m2\"", "\"m3\"", "\"fence\""), data(r.topic("room")));
    assertEquals(oneTo(4), numbers(r.topic("room")));
    assertEquals(List.of(), r.errors, "closed by the client itself, resumed, caught up: nothing to report");
  }

  @Test
  @DisplayName("retries a re-subscribe the store could not serve (store_unavailable) and then catches up, keeping the topic")
  void resubscribeRetried() throws Exception {
    FaultyStore store = new FaultyStore(InMemoryRecoveryStore.create());
    Gateway g = gateway(store);
    Gate gate = new Gate();
    Recorder r = new Recorder();
    GatewayClient c = GatewayClient.builder()
        .uri(URI.create("ws://127.0.0.1:" + g.port() + "/ws"))
        .tokenSupplier(gate.tokens("retrier"))
        .listener(r)
        .options(ClientOptions.builder().reconnectBackoffMin(Duration.ofMillis(10))
            .reconnectBackoffMax(Duration.ofMillis(50)).build())
        .build();
    toClose.add(0, c);
    await(c.connect());
    await(c.subscribe("flaky"));
    g.publish("flaky", "\"f1\"").toCompletableFuture().join();
    Await.until("f1", () -> r.messages.size() == 1);

    gate.close();
    kick(c, r, "retrier");
    g.publish("flaky", "\"f2\"").toCompletableFuture().join();
    // The re-subscribe's catch-up read fails, and so does the fallback to the current position: the
    // gateway answers store_unavailable, twice.
    store.failTopicReads(4);
    gate.open();
    Await.until("f2, caught up once the store answers", () -> r.data().contains("\"f2\""));
    g.publish("flaky", "\"f3\"").toCompletableFuture().join();
    Await.until("f3", () -> r.data().contains("\"f3\""));
    assertEquals(List.of("\"f1\"", "\"f2\"", "\"f3\""), data(r.topic("flaky")));
    assertEquals(oneTo(3), numbers(r.topic("flaky")));
    assertNothingLost(r);
  }

  @Test
  @DisplayName("reconnects with backoff when the gateway closes with 1013 (recovery store unavailable)")
  void tryAgainLater() throws Exception {
    FaultyStore store = new FaultyStore(InMemoryRecoveryStore.create());
    Gateway g = gateway(store);
    store.failCreates(2);
    Recorder r = new Recorder();
    GatewayClient c = GatewayClient.builder()
        .uri(URI.create("ws://127.0.0.1:" + g.port() + "/ws"))
        .token(token("patient"))
        .listener(r)
        .options(ClientOptions.builder().reconnectBackoffMin(Duration.ofMillis(10))
            .reconnectBackoffMax(Duration.ofMillis(50)).build())
        .build();
    toClose.add(0, c);
    await(c.connect());
    assertEquals(List.of("connect_failed: closed before the welcome (1013 recovery store unavailable)",
        "connect_failed: closed before the welcome (1013 recovery store unavailable)"), r.errors);
    assertEquals(List.of("IDLE->CONNECTING", "CONNECTING->RECONNECTING", "RECONNECTING->CONNECTED"), r.states);
  }

  /** A clock the test moves. */
  static final class MutableClock extends Clock {
    private final AtomicLong offsetMillis = new AtomicLong();

    void advance(Duration d) {
      offsetMillis.addAndGet(d.toMillis());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long millis() {
      return System.currentTimeMillis() + offsetMillis.get();
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis());
    }
  }
}
