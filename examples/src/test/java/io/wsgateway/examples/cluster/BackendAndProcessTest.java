package io.wsgateway.examples.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.Gateway;
import io.wsgateway.examples.ExampleBackend;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.TestClient;
import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The example backend and a gateway in a second JVM")
class BackendAndProcessTest {

  static ClusterFixture cluster;
  static Gateway local;

  @BeforeAll
  static void start() {
    cluster = new ClusterFixture();
    local = cluster.start("p1-" + cluster.runId, true); // as the example: recovery on (a fleet shares one store)
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
  }

  @Test
  @DisplayName("the example backend answers a custom frame through upstream and ingress")
  void backendRoundTrip() throws Exception {
    try (ExampleBackend backend = ExampleBackend.start(ClusterFixture.RABBIT_URI, cluster.rabbitPrefix)) {
      TestClient client = cluster.connect(local, "b-user");
      client.send("{\"type\":\"bot.ask\",\"text\":\"hi\",\"id\":\"q\"}");
      JsonNode answer = client.next(f -> f.path("id").asText().equals("q"));
      assertEquals("ack", answer.path("type").asText(), answer.toString());
      JsonNode reply = client.next("message");
      assertEquals("bot", reply.path("from").asText());
      assertEquals("you said: hi", reply.path("data").path("text").asText());
    } finally {
      try (var c = cluster.amqp().createChannel()) {
        c.queueDelete(cluster.rabbitPrefix + ".backend.bot");
      }
    }
  }

  @Test
  @DisplayName("a client on a gateway in another JVM exchanges messages with one here; SIGTERM drains it and it exits 0")
  void secondProcess() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String remoteId = "p2-" + cluster.runId;
    List<String> command = new ArrayList<>(List.of(
        System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
        "-cp", System.getProperty("java.class.path"), "io.wsgateway.examples.ExampleGateway"));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(new File(System.getProperty("java.io.tmpdir"), "wsgw-" + remoteId + ".log"));
    Map<String, String> env = pb.environment();
    env.put("GATEWAY_PORT", Integer.toString(port));
    env.put("GATEWAY_HOST", "127.0.0.1");
    env.put("GATEWAY_INSTANCE_ID", remoteId);
    env.put("GATEWAY_JWT_SECRET", new String(cluster.secret, StandardCharsets.UTF_8));
    env.put("GATEWAY_REDIS_URI", ClusterFixture.REDIS_URI);
    env.put("GATEWAY_REDIS_PREFIX", cluster.redisPrefix);
    env.put("GATEWAY_RABBIT_URI", ClusterFixture.RABBIT_URI);
    env.put("GATEWAY_RABBIT_PREFIX", cluster.rabbitPrefix);
    env.put("GATEWAY_DRAIN_SPREAD_MS", "200");
    env.put("GATEWAY_DRAIN_DEADLINE_MS", "5000");
    Process process = pb.start();
    try {
      Await.until("second JVM healthy", () -> {
        try {
          return RawWebSocket.get(port, "/health", Map.of()).status() == 200;
        } catch (Exception notYet) {
          return false;
        }
      }, java.time.Duration.ofSeconds(30));
      TestClient here = cluster.connect(local, "x-here");
      TestClient there = TestClient.connect(URI.create("ws://127.0.0.1:" + port + "/ws?access_token=" + cluster.token("x-there")));
      assertEquals(remoteId, there.welcome().path("instance").asText());
      here.send("{\"type\":\"send\",\"to\":\"x-there\",\"data\":\"across processes\",\"id\":\"1\"}").next("ack");
      assertEquals("across processes", there.next("message").path("data").asText());
      there.send("{\"type\":\"send\",\"to\":\"x-here\",\"data\":\"and back\",\"id\":\"2\"}").next("ack");
      assertEquals("and back", here.next("message").path("data").asText());

      process.destroy(); // SIGTERM
      JsonNode hint = there.next("reconnect");
      assertEquals("draining", hint.path("reason").asText());
      there.close();
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "second JVM did not exit after SIGTERM");
      assertEquals(0, process.exitValue());
      Await.until("the drained instance is gone from routing", () ->
          !local.presence("x-there").toCompletableFuture().join().online());
    } finally {
      process.destroyForcibly();
    }
  }
}
