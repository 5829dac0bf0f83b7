package io.wsgateway.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.DrainOptions;
import io.wsgateway.DrainReport;
import io.wsgateway.Gateway;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.broker.InProcessBroker;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.NettyGateway;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.recovery.InMemoryRecoveryStore;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InMemoryConnectionRegistry;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A client of a draining instance")
class DrainFailoverTest {

  static final byte[] SECRET = "client-drain-secret-client-drain-secret".getBytes(StandardCharsets.UTF_8);

  static Gateway gateway(String id, ConnectionRegistry registry, MessageBroker broker) {
    return gateway(id, registry, broker, null);
  }

  static Gateway gateway(String id, ConnectionRegistry registry, MessageBroker broker, RecoveryStore store) {
    NettyGateway.Builder b = NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).instanceId(id).build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(SECRET).build())
        .registry(registry)
        .broker(broker);
    if (store != null) {
      b.recovery(store);
    }
    Gateway g = b.build();
    g.start();
    return g;
  }

  static URI uri(Gateway g) {
    return URI.create("ws://127.0.0.1:" + g.port() + "/ws");
  }

  static String token(String user) {
    return JwtTokens.hs256(SECRET, user, Map.of("topics", List.of("*")), Instant.now().plusSeconds(600));
  }

  @Test
  @DisplayName("follows the reconnect hint at once to the instance the URI supplier names, and keeps receiving its messages")
  void movesToTheOtherInstance() throws Exception {
    MessageBroker broker = InProcessBroker.create();
    ConnectionRegistry registry = InMemoryConnectionRegistry.create();
    Gateway one = gateway("one", registry, broker);
    Gateway two = gateway("two", registry, broker);
    AtomicReference<URI> target = new AtomicReference<>(uri(one));
    Recorder r = new Recorder();
    GatewayClient client = GatewayClient.builder()
        .uriSupplier(target::get)
        .tokenSupplier(() -> CompletableFuture.completedFuture(token("mover")))
        .listener(r)
        // A long backoff would make the test slow if the hint path used it: it must not.
        .options(ClientOptions.builder().reconnectBackoffMin(Duration.ofSeconds(5))
            .reconnectBackoffMax(Duration.ofSeconds(5)).build())
        .build();
    GatewayClient sender = GatewayClient.builder().uri(uri(two))
        .token(token("sender")).build();
    try {
      client.connect().toCompletableFuture().get(10, TimeUnit.SECONDS);
      sender.connect().toCompletableFuture().get(10, TimeUnit.SECONDS);
      client.subscribe("lobby").toCompletableFuture().get(10, TimeUnit.SECONDS);
      sender.send("mover", "\"before\"").toCompletableFuture().get(10, TimeUnit.SECONDS);
      Await.until("message before the drain", () -> r.data().contains("\"before\""));

      target.set(uri(two));
      CompletableFuture<DrainReport> drain = one.drain(DrainOptions.builder()
          .reconnectSpread(Duration.ofMillis(100)).maxClientDelay(Duration.ofMillis(100))
          .deadline(Duration.ofSeconds(5)).build()).toCompletableFuture();
      DrainReport report = drain.get(10, TimeUnit.SECONDS);
      assertEquals(1, report.leftAfterHint(), report.toString());
      // The session may or may not survive the move (server resume); the state transitions tell the reconnect.
      Await.until("reconnected to instance two", () -> client.state() == ClientState.CONNECTED
          && r.states.contains("RECONNECTING->CONNECTED"));
      assertTrue(r.states.containsAll(List.of("CONNECTED->RECONNECTING", "RECONNECTING->CONNECTED")), r.states.toString());
      assertTrue(r.errors.stream().noneMatch(e -> e.startsWith(ClientException.CONNECTION_LOST)),
          "a hinted reconnect is not a lost connection: " + r.errors);

      sender.send("mover", "\"after\"").toCompletableFuture().get(10, TimeUnit.SECONDS);
      Await.until("direct message after the move", () -> r.data().contains("\"after\""));
      Await.until("topic message after the move (re-subscribed on the new session)", () -> {
        sender.publish("lobby", "\"room\"");
        return r.data().contains("\"room\"");
      });
      // Each message was delivered once: "before" and "after" exactly once each.
      assertEquals(1, r.data().stream().filter("\"before\""::equals).count());
      assertEquals(1, r.data().stream().filter("\"after\""::equals).count());
      GatewayClientTest.assertInOrderPerSession(r.direct().stream().map(ClientMessage::seq).toList(),
          r.errorCount(ClientException.RESUME_FAILED));
    } finally {
      client.close();
      sender.close();
      one.close();
      two.close();
      broker.close();
      registry.close();
    }
  }

  @Test
  @DisplayName("with a shared recovery store, moves without loss: resumes its session on the other instance and catches up its topic")
  void movesWithoutLoss() throws Exception {
    MessageBroker broker = InProcessBroker.create();
    ConnectionRegistry registry = InMemoryConnectionRegistry.create();
    RecoveryStore store = InMemoryRecoveryStore.create();
    Gateway one = gateway("one", registry, broker, store);
    Gateway two = gateway("two", registry, broker, store);
    AtomicReference<URI> target = new AtomicReference<>(uri(one));
    Recorder r = new Recorder();
    GatewayClient client = GatewayClient.builder()
        .uriSupplier(target::get)
        .tokenSupplier(() -> CompletableFuture.completedFuture(token("mover")))
        .listener(r)
        .build();
    try {
      client.connect().toCompletableFuture().get(10, TimeUnit.SECONDS);
      String session = client.sessionId();
      client.subscribe("lobby").toCompletableFuture().get(10, TimeUnit.SECONDS);
      two.publish("lobby", "1").toCompletableFuture().join();
      two.sendToUser("mover", "1").toCompletableFuture().join();
      Await.until("the first messages", () -> r.messages.size() == 2);

      target.set(uri(two));
      CompletableFuture<DrainReport> drain = one.drain(DrainOptions.builder()
          .reconnectSpread(Duration.ofMillis(100)).maxClientDelay(Duration.ofMillis(100))
          .deadline(Duration.ofSeconds(5)).build()).toCompletableFuture();
      // Sent while the client moves: on the old connection, in between, or on the new one.
      for (int i = 2; i <= 20; i++) {
        two.publish("lobby", Integer.toString(i)).toCompletableFuture().join();
        two.sendToUser("mover", Integer.toString(i)).toCompletableFuture().join();
      }
      assertEquals(1, drain.get(10, TimeUnit.SECONDS).leftAfterHint());
      Await.until("reconnected to instance two", () -> client.state() == ClientState.CONNECTED
          && r.states.contains("RECONNECTING->CONNECTED"));
      two.publish("lobby", "21").toCompletableFuture().join();
      two.sendToUser("mover", "21").toCompletableFuture().join();
      Await.until("all 42 messages", () -> r.messages.size() >= 42);

      List<String> expected = java.util.stream.IntStream.rangeClosed(1, 21).mapToObj(Integer::toString).toList();
      List<Long> numbers = java.util.stream.LongStream.rangeClosed(1, 21).boxed().toList();
      assertEquals(expected, r.direct().stream().map(ClientMessage::data).toList());
      assertEquals(numbers, r.direct().stream().map(ClientMessage::seq).toList());
      assertEquals(expected, r.topic("lobby").stream().map(ClientMessage::data).toList());
      assertEquals(numbers, r.topic("lobby").stream().map(ClientMessage::seq).toList());
      assertEquals(session, client.sessionId(), "resumed on instance two");
      assertEquals(List.of(), r.errors, "a hinted move that resumes and catches up has nothing to report");
    } finally {
      client.close();
      one.close();
      two.close();
      store.close();
      broker.close();
      registry.close();
    }
  }
}
