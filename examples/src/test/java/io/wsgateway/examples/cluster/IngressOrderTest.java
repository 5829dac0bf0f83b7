package io.wsgateway.examples.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.wsgateway.DrainOptions;
import io.wsgateway.Gateway;
import io.wsgateway.netty.testing.TestClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Backend ingress, end to end on three instances with recovery on: a backend's messages to one user,
 * each publish confirmed before the next, reach the user in publish order, also while the instances
 * consuming ingress drain away. The bug this pins: three competing consumers interleaved them.
 */
@DisplayName("Backend ingress keeps one publisher's order per user")
class IngressOrderTest {

  ClusterFixture cluster;

  @BeforeEach
  void start() {
    cluster = new ClusterFixture();
  }

  @AfterEach
  void stop() throws Exception {
    cluster.close();
  }

  @Test
  @DisplayName("1,000 confirmed publishes to one user arrive in order, with consuming instances drained and closed midway")
  void inOrderAcrossDrains() throws Exception {
    Gateway one = cluster.start("io1-" + cluster.runId, true);
    Gateway two = cluster.start("io2-" + cluster.runId, true);
    Gateway three = cluster.start("io3-" + cluster.runId, true);
    TestClient user = cluster.connect(three, "io-user");
    user.welcome();
    int n = 1_000;
    try (Channel ch = cluster.amqp().createChannel()) {
      ch.confirmSelect();
      AMQP.BasicProperties json = new AMQP.BasicProperties.Builder().contentType("application/json").build();
      for (int k = 1; k <= n; k++) {
        ch.basicPublish(cluster.rabbitPrefix + ".ingress", "", json,
            ("{\"to\":\"io-user\",\"id\":\"k" + k + "\",\"data\":" + k + "}").getBytes(StandardCharsets.UTF_8));
        ch.waitForConfirmsOrDie(10_000);
        if (k == n / 3) {
          drainAndClose(one); // whatever ingress it consumed moves to the others, in order
        } else if (k == 2 * n / 3) {
          drainAndClose(two);
        }
      }
    }
    List<Integer> got = new ArrayList<>();
    for (JsonNode m : user.next("message", n)) {
      got.add(m.path("data").asInt());
    }
    for (int i = 0; i < n; i++) {
      assertEquals(i + 1, got.get(i), "position " + i + " of " + got.subList(Math.max(0, i - 10), Math.min(n, i + 10)));
    }
  }

  private static void drainAndClose(Gateway g) {
    g.drain(DrainOptions.builder().reconnectSpread(Duration.ZERO).maxClientDelay(Duration.ZERO)
        .deadline(Duration.ofSeconds(5)).build()).toCompletableFuture().join();
    g.close();
  }
}
