package io.wsgateway.broker;

import io.wsgateway.broker.internal.InProcessBrokerImpl;

/**
 * Factory for the embedded broker: several gateways in one JVM share one instance and route to each
 * other through it, with no external service.
 *
 * <p>Delivery runs on one daemon thread per broker, in the order envelopes were accepted; its queue
 * holds at most {@link #DEFAULT_QUEUE_CAPACITY} envelopes by default, beyond which sends fail with
 * {@link BrokerException.Reason#OVERLOADED} instead of growing without bound.
 */
public final class InProcessBroker {

  /** Default bound of the delivery queue: 65,536 envelopes. */
  public static final int DEFAULT_QUEUE_CAPACITY = 65_536;

  private InProcessBroker() {}

  /** A new broker with the default queue capacity. Close it when its gateways are closed. */
  public static MessageBroker create() {
    return create(DEFAULT_QUEUE_CAPACITY);
  }

  /**
   * A new broker whose delivery queue holds at most {@code queueCapacity} envelopes.
   *
   * @throws IllegalArgumentException if {@code queueCapacity <= 0}
   */
  public static MessageBroker create(int queueCapacity) {
    if (queueCapacity <= 0) {
      throw new IllegalArgumentException("queueCapacity: " + queueCapacity + " (expected: > 0)");
    }
    return new InProcessBrokerImpl(queueCapacity);
  }
}
