package io.wsgateway.examples.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.Gateway;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.TestClient;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Session recovery on the real parts: Redis registry and Redis recovery store under one key prefix
 * (as the example gateway runs them), RabbitMQ between the instances.
 */
@DisplayName("Gateways with the Redis recovery store sharing the registry's key prefix")
class RecoveryClusterTest {

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
  @DisplayName("keep a message for a user whom no instance holds in the user's session, and deliver it on resume elsewhere")
  void keptWhileNobodyHoldsTheUser() throws Exception {
    Gateway one = cluster.start("r1-" + cluster.runId, true);
    Gateway two = cluster.start("r2-" + cluster.runId, true);
    TestClient dave = cluster.connect(one, "r-dave");
    String session = dave.welcome().path("session").asText();
    two.sendToUser("r-dave", "\"while connected\"").toCompletableFuture().join();
    assertEquals(1, dave.next("message").path("seq").asLong());

    // The instance goes away with the session's owner: no instance holds dave any more.
    one.close();
    dave.awaitClose();
    Await.until("dave held nowhere", () -> {
      try {
        return two.presence("r-dave").toCompletableFuture().join().connections() == 0;
      } catch (CompletionException unavailable) {
        return false;
      }
    }, Duration.ofSeconds(10));

    // Accepted, not user_offline: the user has a resumable session in the store.
    two.sendToUser("r-dave", "\"while away\"").toCompletableFuture().join();

    TestClient back = TestClient.connect(URI.create("ws://127.0.0.1:" + two.port() + "/ws?access_token="
        + cluster.token("r-dave") + "&session=" + session + "&last_seq=1"));
    try {
      assertTrue(back.welcome().path("resumed").asBoolean(), back.welcome().toString());
      JsonNode missed = back.next("message");
      assertEquals(2, missed.path("seq").asLong());
      assertEquals("while away", missed.path("data").asText());
    } finally {
      back.close();
    }

    // A user with no session anywhere is still offline.
    CompletionException offline = assertThrows(CompletionException.class,
        () -> two.sendToUser("r-nobody", "\"x\"").toCompletableFuture().join());
    assertTrue(offline.getCause().getMessage().contains("offline"), offline.toString());
  }
}
