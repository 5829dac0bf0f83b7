package io.wsgateway.chaos.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.wsgateway.chaos.history.Outcome;
import io.wsgateway.client.ClientException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A chaos client")
class ChaosClientTest {

  @Test
  @DisplayName("counts an operation whose frame may have reached the gateway as unknown, a refusal as failed")
  void outcomes() {
    assertEquals(Outcome.UNKNOWN, ChaosClient.outcome(ClientException.CONNECTION_LOST));
    assertEquals(Outcome.UNKNOWN, ChaosClient.outcome(ClientException.ACK_TIMEOUT));
    assertEquals(Outcome.UNKNOWN, ChaosClient.outcome(ClientException.CLIENT_CLOSED));
    assertEquals(Outcome.FAILED, ChaosClient.outcome("user_offline"));
    assertEquals(Outcome.FAILED, ChaosClient.outcome("registry_unavailable"));
    assertEquals(Outcome.FAILED, ChaosClient.outcome(ClientException.CLIENT_OVERLOADED));
  }

  @Test
  @DisplayName("treats resume_failed and the gap signals (a session gap, a topic gap) as loss signals")
  void lossSignals() {
    assertEquals(java.util.Set.of("resume_failed", "gap", "topic_gap", "history_lost"), ChaosClient.LOSS_SIGNALS);
  }
}
