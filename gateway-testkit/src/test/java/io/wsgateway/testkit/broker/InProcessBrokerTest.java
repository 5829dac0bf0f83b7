package io.wsgateway.testkit.broker;

import io.wsgateway.broker.InProcessBroker;
import io.wsgateway.broker.MessageBroker;
import org.junit.jupiter.api.DisplayName;

// Here rather than in gateway-broker-spi: gateway-testkit depends on gateway-broker-spi, so that
// module's tests cannot extend the kit. The embedded default is checked from outside, like any
// third party's.
@DisplayName("InProcessBroker passes the MessageBroker compatibility kit")
class InProcessBrokerTest extends MessageBrokerCompatibilityKit {

  private MessageBroker broker;

  @Override
  protected MessageBroker newBroker() {
    // Every handle of a test is the same broker: that is how gateways in one JVM share it.
    if (broker == null) {
      broker = InProcessBroker.create();
    }
    return broker;
  }

  @Override
  protected boolean detectsNoRouteBeforeReturning() {
    return true;
  }
}
