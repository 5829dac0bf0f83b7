package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.ErrorCodes;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.TestClient;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Issue 13 item 11: a refresh verifies a signature, so it has a limit far below the frame rate. */
@DisplayName("Refreshes have a limit of their own")
class RefreshLimitTest {

  /** No refill within the test: the burst is all there is. */
  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(
      o -> o.refreshLimit(2, Duration.ofHours(1)), b -> b);

  @Test
  @DisplayName("refreshes past the burst get rate_limited, while other frames still pass")
  void burstThenRateLimited() {
    TestClient client = gateway.connect("refresher");
    for (int i = 1; i <= 4; i++) {
      client.send("{\"type\":\"refresh\",\"id\":\"r" + i + "\",\"token\":\"" + gateway.token("refresher") + "\"}");
    }
    // Answers by id: a refresh is acked once its token was checked, maybe after a later refusal.
    Map<String, JsonNode> answers = new HashMap<>();
    for (int i = 0; i < 4; i++) {
      JsonNode answer = client.next(f -> f.has("id"));
      answers.put(answer.path("id").asText(), answer);
    }
    assertEquals("ack", answers.get("r1").path("type").asText(), answers.toString());
    assertEquals("ack", answers.get("r2").path("type").asText(), answers.toString());
    for (int i = 3; i <= 4; i++) {
      JsonNode error = answers.get("r" + i);
      assertEquals("error", error.path("type").asText(), answers.toString());
      assertEquals(ErrorCodes.RATE_LIMITED, error.path("code").asText());
      assertEquals("more than 2 refreshes (one more per PT1H)", error.path("message").asText());
    }
    assertEquals("u", client.send("{\"type\":\"unsubscribe\",\"topic\":\"t\",\"id\":\"u\"}").next("ack").path("id").asText());
  }

  @Test
  @DisplayName("the default is a burst of 3, then one per second")
  void defaults() {
    GatewayOptions o = GatewayOptions.defaults();
    assertEquals(3, o.refreshBurst());
    assertEquals(Duration.ofSeconds(1), o.refreshInterval());
  }
}
