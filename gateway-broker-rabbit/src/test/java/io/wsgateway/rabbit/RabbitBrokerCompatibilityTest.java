package io.wsgateway.rabbit;

import com.rabbitmq.client.Channel;
import io.wsgateway.broker.MessageBroker;
import java.nio.charset.StandardCharsets;
import io.wsgateway.testkit.broker.MessageBrokerCompatibilityKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The RabbitMQ broker keeps the broker contract against a real RabbitMQ: every handle is a separate
 * {@link RabbitBroker}, as separate gateway processes would have.
 */
class RabbitBrokerCompatibilityTest extends MessageBrokerCompatibilityKit {

  private static RabbitTestSupport rabbit;
  private static Channel backend;

  @BeforeAll
  static void connect() throws Exception {
    rabbit = new RabbitTestSupport();
  }

  @AfterAll
  static void deleteTopology() throws Exception {
    rabbit.close();
  }

  @Override
  protected MessageBroker newBroker() {
    return RabbitBroker.create(rabbit.options().build());
  }

  @Override
  protected boolean supportsOrderedIngress() {
    return true;
  }

  @Override
  protected void publishIngress(String user, String id, int k) throws Exception {
    synchronized (RabbitBrokerCompatibilityTest.class) {
      if (backend == null) {
        backend = rabbit.newChannel();
        backend.confirmSelect();
      }
      backend.basicPublish(rabbit.prefix + ".ingress", "", null,
          ("{\"to\":\"" + user + "\",\"id\":\"" + id + "\",\"data\":" + k + "}").getBytes(StandardCharsets.UTF_8));
      backend.waitForConfirmsOrDie(10_000);
    }
  }
}
