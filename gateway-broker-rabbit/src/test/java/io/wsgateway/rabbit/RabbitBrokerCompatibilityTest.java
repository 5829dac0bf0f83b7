package io.wsgateway.rabbit;

import io.wsgateway.broker.MessageBroker;
import io.wsgateway.testkit.broker.MessageBrokerCompatibilityKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The RabbitMQ broker keeps the broker contract against a real RabbitMQ: every handle is a separate
 * {@link RabbitBroker}, as separate gateway processes would have.
 */
class RabbitBrokerCompatibilityTest extends MessageBrokerCompatibilityKit {

  private static RabbitTestSupport rabbit;

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
}
