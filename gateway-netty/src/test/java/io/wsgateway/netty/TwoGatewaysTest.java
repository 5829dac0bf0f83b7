package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.Gateway;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.broker.InProcessBroker;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.netty.testing.TestClient;
import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InMemoryConnectionRegistry;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Two gateways in one JVM sharing the in-process broker and in-memory registry")
class TwoGatewaysTest {

  static final byte[] SECRET = "two-gateways-secret-two-gateways-secret".getBytes(StandardCharsets.UTF_8);
  static MessageBroker broker;
  static ConnectionRegistry registry;
  static Gateway one;
  static Gateway two;
  final List<TestClient> clients = new java.util.ArrayList<>();

  @BeforeAll
  static void start() {
    broker = InProcessBroker.create();
    registry = InMemoryConnectionRegistry.create();
    one = gateway("one");
    two = gateway("two");
  }

  static Gateway gateway(String id) {
    Gateway g = NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).instanceId(id).build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(SECRET).build())
        .registry(registry)
        .broker(broker)
        .build();
    g.start();
    return g;
  }

  @AfterEach
  void closeClients() {
    clients.forEach(TestClient::close);
  }

  @AfterAll
  static void stop() {
    one.close();
    two.close();
    broker.close();
    registry.close();
  }

  TestClient connect(Gateway g, String user) {
    String token = JwtTokens.hs256(SECRET, user, Map.of("topics", List.of("*")), Instant.now().plusSeconds(600));
    TestClient c = TestClient.connect(URI.create("ws://127.0.0.1:" + g.port() + "/ws?access_token=" + token));
    clients.add(c);
    assertEquals(g.instanceId(), c.welcome().path("instance").asText());
    return c;
  }

  @Test
  @DisplayName("route a direct message to a user on the other instance, and to a user connected to both")
  void direct() {
    TestClient alice = connect(one, "alice");
    TestClient bob = connect(two, "bob");
    TestClient carolOne = connect(one, "carol");
    TestClient carolTwo = connect(two, "carol");
    alice.send("{\"type\":\"send\",\"to\":\"bob\",\"data\":\"over there\",\"id\":\"1\"}");
    assertEquals("1", alice.next("ack").path("id").asText());
    JsonNode m = bob.next("message");
    assertEquals("alice", m.path("from").asText());
    assertEquals("over there", m.path("data").asText());

    bob.send("{\"type\":\"send\",\"to\":\"carol\",\"data\":\"both\",\"id\":\"2\"}").next("ack");
    assertEquals("both", carolOne.next("message").path("data").asText());
    assertEquals("both", carolTwo.next("message").path("data").asText());
  }

  @Test
  @DisplayName("route a topic message to subscribers on both instances")
  void topic() {
    TestClient a = connect(one, "a");
    TestClient b = connect(two, "b");
    a.send("{\"type\":\"subscribe\",\"topic\":\"lobby\",\"id\":\"s\"}").next("ack");
    b.send("{\"type\":\"subscribe\",\"topic\":\"lobby\",\"id\":\"s\"}").next("ack");
    a.send("{\"type\":\"publish\",\"topic\":\"lobby\",\"data\":{\"v\":42},\"id\":\"p\"}").next("ack");
    for (TestClient c : List.of(a, b)) {
      JsonNode m = c.next("message");
      assertEquals("lobby", m.path("topic").asText());
      assertEquals(42, m.path("data").path("v").asInt());
    }
  }
}
