package io.wsgateway.examples.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.wsgateway.Gateway;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.TestClient;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Three gateways routing through the real Redis registry and RabbitMQ broker")
class ClusterTest {

  static ClusterFixture cluster;
  static Gateway one;
  static Gateway two;
  static Gateway three;

  @BeforeAll
  static void start() {
    cluster = new ClusterFixture();
    one = cluster.start("c1-" + cluster.runId);
    two = cluster.start("c2-" + cluster.runId);
    three = cluster.start("c3-" + cluster.runId);
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
  }

  @Test
  @DisplayName("a direct message crosses instances, and reaches a user connected to two instances on both")
  void directAcrossInstances() {
    TestClient alice = cluster.connect(one, "d-alice");
    TestClient bob = cluster.connect(three, "d-bob");
    alice.send("{\"type\":\"send\",\"to\":\"d-bob\",\"data\":{\"hello\":\"from one\"},\"id\":\"1\"}");
    assertEquals("1", alice.next("ack").path("id").asText());
    JsonNode m = bob.next("message");
    assertEquals("d-alice", m.path("from").asText());
    assertEquals("from one", m.path("data").path("hello").asText());

    TestClient carolTwo = cluster.connect(two, "d-carol");
    TestClient carolThree = cluster.connect(three, "d-carol");
    bob.send("{\"type\":\"send\",\"to\":\"d-carol\",\"data\":2,\"id\":\"2\"}").next("ack");
    assertEquals(2, carolTwo.next("message").path("data").asInt());
    assertEquals(2, carolThree.next("message").path("data").asInt());
  }

  @Test
  @DisplayName("a topic message reaches subscribers on every instance, and only subscribing instances get broker traffic")
  void topicFanOut() {
    String topic = "fan-" + cluster.runId;
    TestClient s1 = cluster.connect(one, "t-1");
    TestClient s2 = cluster.connect(two, "t-2");
    TestClient publisher = cluster.connect(three, "t-pub");
    s1.send("{\"type\":\"subscribe\",\"topic\":\"" + topic + "\",\"id\":\"s\"}").next("ack");
    s2.send("{\"type\":\"subscribe\",\"topic\":\"" + topic + "\",\"id\":\"s\"}").next("ack");
    long threeBefore = cluster.brokerTraffic.get(three.instanceId()).get();
    for (int i = 0; i < 20; i++) {
      publisher.send("{\"type\":\"publish\",\"topic\":\"" + topic + "\",\"data\":" + i + ",\"id\":\"p" + i + "\"}");
    }
    for (int i = 0; i < 20; i++) {
      assertEquals(i, s1.next("message").path("data").asInt());
      assertEquals(i, s2.next("message").path("data").asInt());
    }
    assertEquals(threeBefore, cluster.brokerTraffic.get(three.instanceId()).get(),
        "instance three has no subscriber of the topic and must receive none of its envelopes");
  }

  @Test
  @DisplayName("a backend delivers to a user and to a topic through the ingress exchange; exactly one instance routes each")
  void backendIngress() throws Exception {
    TestClient dave = cluster.connect(two, "i-dave");
    String topic = "ingress-" + cluster.runId;
    TestClient sub = cluster.connect(three, "i-sub");
    sub.send("{\"type\":\"subscribe\",\"topic\":\"" + topic + "\",\"id\":\"s\"}").next("ack");
    try (Channel ch = cluster.amqp().createChannel()) {
      AMQP.BasicProperties json = new AMQP.BasicProperties.Builder().contentType("application/json").build();
      for (int i = 0; i < 10; i++) {
        ch.basicPublish(cluster.rabbitPrefix + ".ingress", "", json,
            ("{\"to\":\"i-dave\",\"from\":\"billing\",\"data\":{\"n\":" + i + "}}").getBytes(StandardCharsets.UTF_8));
      }
      ch.basicPublish(cluster.rabbitPrefix + ".ingress", "", json,
          ("{\"topic\":\"" + topic + "\",\"data\":\"news\"}").getBytes(StandardCharsets.UTF_8));
    }
    Set<Integer> got = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      JsonNode m = dave.next("message");
      assertEquals("billing", m.path("from").asText());
      assertTrue(got.add(m.path("data").path("n").asInt()), "duplicate " + m);
    }
    assertEquals(10, got.size());
    assertEquals("news", sub.next("message").path("data").asText());
    assertEquals(null, dave.poll(java.time.Duration.ofMillis(300)), "each ingress message is routed exactly once");
  }

  @Test
  @DisplayName("client frames of custom types are forwarded to wsgateway.upstream with user, connection and instance headers")
  void upstream() throws Exception {
    try (Channel ch = cluster.amqp().createChannel()) {
      String queue = ch.queueDeclare("", false, true, true, null).getQueue();
      ch.queueBind(queue, cluster.rabbitPrefix + ".upstream", "order.create");
      TestClient erin = cluster.connect(two, "u-erin");
      String frame = "{\"type\":\"order.create\",\"item\":42,\"id\":\"o1\"}";
      erin.send(frame);
      assertEquals("o1", erin.next("ack").path("id").asText());
      GetResponse r = Await.value("upstream message", () -> {
        try {
          return ch.basicGet(queue, true);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, Await.DEFAULT_TIMEOUT);
      assertEquals(frame, new String(r.getBody(), StandardCharsets.UTF_8));
      assertEquals("u-erin", String.valueOf(r.getProps().getHeaders().get("user_id")));
      assertEquals(two.instanceId(), String.valueOf(r.getProps().getHeaders().get("instance_id")));
      assertEquals(erin.welcome().path("connection").asText(), String.valueOf(r.getProps().getHeaders().get("connection_id")));
    }
  }

  @Test
  @DisplayName("after RabbitMQ drops an instance's connection, every send is acked and delivered or reported, and routing recovers")
  void brokerConnectionLoss() throws Exception {
    TestClient sender = cluster.connect(one, "r-sender");
    TestClient receiver = cluster.connect(two, "r-receiver");
    sender.send("{\"type\":\"send\",\"to\":\"r-receiver\",\"data\":-1,\"id\":\"warm\"}").next("ack");
    receiver.next("message");

    ClusterFixture.closeBrokerConnection(one.instanceId());
    int total = 200;
    for (int i = 0; i < total; i++) {
      sender.send("{\"type\":\"send\",\"to\":\"r-receiver\",\"data\":" + i + ",\"id\":\"" + i + "\"}");
    }
    Set<Integer> acked = new HashSet<>();
    Set<Integer> failed = new HashSet<>();
    for (int i = 0; i < total; i++) {
      JsonNode answer = sender.next(f -> f.path("type").asText().matches("ack|error"));
      int id = answer.path("id").asInt();
      if (answer.path("type").asText().equals("ack")) {
        acked.add(id);
      } else {
        assertEquals("broker_unavailable", answer.path("code").asText(), answer.toString());
        failed.add(id);
      }
    }
    assertEquals(total, acked.size() + failed.size(), "every send is answered");
    Set<Integer> received = new HashSet<>();
    while (received.size() < acked.size()) {
      received.add(receiver.next("message").path("data").asInt());
    }
    assertTrue(received.containsAll(acked), "every acked message was delivered");

    // Routing works again once the connection recovered.
    Await.until("routing recovered", () -> {
      sender.send("{\"type\":\"send\",\"to\":\"r-receiver\",\"data\":\"after\",\"id\":\"after\"}");
      JsonNode a = sender.next(f -> f.path("id").asText().equals("after"));
      return a.path("type").asText().equals("ack");
    });
    assertEquals("after", receiver.next(f -> f.path("data").asText().equals("after")).path("data").asText());
  }

  @Test
  @DisplayName("presence through the registry sees users on every instance")
  void presence() {
    cluster.connect(one, "p-frank");
    cluster.connect(three, "p-frank");
    for (Gateway g : List.of(one, two, three)) {
      io.wsgateway.registry.Presence p = g.presence("p-frank").toCompletableFuture().join();
      assertEquals(2, p.connections());
      assertEquals(Set.of(one.instanceId(), three.instanceId()), p.instances());
    }
    assertTrue(!two.presence("p-nobody").toCompletableFuture().join().online());
  }
}
