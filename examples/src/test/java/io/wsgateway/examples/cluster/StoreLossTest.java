package io.wsgateway.examples.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.Gateway;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.TestClient;
import io.wsgateway.testkit.RedisServer;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Recovery on, two instances sharing a Redis (registry and store) that restarts empty, as after a
 * failover to an empty replica or a flush. The bug this pins: every live connection was closed with
 * 4002 "session resumed elsewhere", a message acknowledged in that moment was never delivered, and
 * the recipient stayed unreachable until it reconnected.
 */
@DisplayName("Redis restarted empty under live sessions")
class StoreLossTest {

  ClusterFixture cluster;
  RedisServer redis;

  @BeforeEach
  void start() throws Exception {
    redis = RedisServer.startOnFreePort();
    cluster = new ClusterFixture().redisUri(redis.uri());
  }

  @AfterEach
  void stop() throws Exception {
    cluster.close();
    redis.close();
  }

  @Test
  @DisplayName("connections stay open, nothing acknowledged is lost, routing comes back, and a resume from before the loss says so")
  void restartEmpty() throws Exception {
    Gateway one = cluster.start("l1-" + cluster.runId, true);
    Gateway two = cluster.start("l2-" + cluster.runId, true);
    TestClient alice = cluster.connect(one, "l-alice");
    TestClient bob = cluster.connect(two, "l-bob");
    TestClient carol = cluster.connect(two, "l-carol");
    String carolSession = carol.welcome().path("session").asText();
    alice.send("{\"type\":\"send\",\"id\":\"w\",\"to\":\"l-bob\",\"data\":\"warm\"}").next("ack");
    assertEquals("warm", bob.next("message").path("data").asText());
    carol.close(); // detached: her history lives only in the store

    redis.restartEmpty();

    // Alice keeps sending until one send after the restart is acknowledged: the store lost bob's
    // session and the instances restore it from his live connection.
    Map<Integer, String> outcome = new LinkedHashMap<>();
    int n = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    boolean ackedAfter = false;
    while (!ackedAfter && System.nanoTime() < deadline) {
      alice.send("{\"type\":\"send\",\"id\":\"" + n + "\",\"to\":\"l-bob\",\"data\":" + n + "}");
      JsonNode answer = alice.next(f -> f.path("type").asText().equals("ack") || f.path("type").asText().equals("error"));
      outcome.put(Integer.parseInt(answer.path("id").asText()),
          answer.path("type").asText().equals("ack") ? "ack" : answer.path("code").asText());
      ackedAfter = answer.path("type").asText().equals("ack");
      n++;
    }
    assertTrue(ackedAfter, "no send acknowledged within 30 s of the restart: " + outcome);
    for (int i = 0; i < 5; i++, n++) {
      alice.send("{\"type\":\"send\",\"id\":\"" + n + "\",\"to\":\"l-bob\",\"data\":" + n + "}");
      assertEquals(String.valueOf(n), alice.next("ack").path("id").asText());
      outcome.put(n, "ack");
    }

    // Every acknowledged message reaches bob, in order, once; nothing closed his connection.
    List<Integer> acked = outcome.entrySet().stream().filter(e -> e.getValue().equals("ack")).map(Map.Entry::getKey).toList();
    List<Integer> got = new ArrayList<>();
    List<Long> seqs = new ArrayList<>();
    while (!got.containsAll(acked)) {
      JsonNode m = bob.next("message");
      got.add(m.path("data").asInt());
      seqs.add(m.path("seq").asLong());
    }
    assertEquals(got.stream().sorted().toList(), got, "out of order: " + got);
    assertEquals(got.stream().distinct().count(), got.size(), "duplicates: " + got);
    for (int i = 1; i < seqs.size(); i++) {
      assertEquals(seqs.get(i - 1) + 1, seqs.get(i), "seqs " + seqs);
    }
    assertFalse(bob.isClosed(), "bob's connection was closed: " + bob.closeReason());
    assertFalse(alice.isClosed(), "alice's connection was closed: " + alice.closeReason());

    // Bob's restored session resumes from where he is.
    String bobSession = bob.welcome().path("session").asText();
    long bobLast = seqs.get(seqs.size() - 1);
    bob.close();
    Await.until("bob gone", () -> two.connectionCount() == 0);
    alice.send("{\"type\":\"send\",\"id\":\"after\",\"to\":\"l-bob\",\"data\":\"after\"}").next("ack");
    TestClient bobBack = TestClient.connect(URI.create("ws://127.0.0.1:" + one.port() + "/ws?access_token="
        + cluster.token("l-bob") + "&session=" + bobSession + "&last_seq=" + bobLast));
    assertTrue(bobBack.welcome().path("resumed").asBoolean(), bobBack.welcome().toString());
    assertEquals("after", bobBack.next("message").path("data").asText());
    bobBack.close();

    // Carol's history was lost with the store: her resume says so rather than pretending.
    TestClient carolBack = TestClient.connect(URI.create("ws://127.0.0.1:" + one.port() + "/ws?access_token="
        + cluster.token("l-carol") + "&session=" + carolSession + "&last_seq=0"));
    assertFalse(carolBack.welcome().path("resumed").asBoolean(true), carolBack.welcome().toString());
    assertEquals("unknown_session", carolBack.welcome().path("reason").asText());
    carolBack.close();
  }
}
