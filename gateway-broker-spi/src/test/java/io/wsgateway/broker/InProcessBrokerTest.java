package io.wsgateway.broker;

/** The in-process broker keeps the broker contract, checked like any third-party broker. */
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
