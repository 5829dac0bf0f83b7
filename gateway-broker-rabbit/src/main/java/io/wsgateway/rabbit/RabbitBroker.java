package io.wsgateway.rabbit;

import io.wsgateway.broker.MessageBroker;
import io.wsgateway.rabbit.internal.RabbitBrokerImpl;
import java.util.Objects;

/**
 * Factory for the RabbitMQ broker: gateway instances in different processes route envelopes to each
 * other through RabbitMQ exchanges, and backends reach users through its ingress exchange.
 *
 * <p>Each {@link MessageBroker#attach attached} instance gets its own AMQP connection, named {@code
 * wsgateway-<instanceId>}, with automatic recovery. The broker is thread-safe; its methods never block
 * on the network. The application that created it closes it after its gateways closed their endpoints.
 */
public final class RabbitBroker {

  private RabbitBroker() {}

  /** A broker with {@link RabbitBrokerOptions#defaults()}: a local RabbitMQ as guest. */
  public static MessageBroker create() {
    return create(RabbitBrokerOptions.defaults());
  }

  /** A broker configured by {@code options}. It connects when an instance attaches. */
  public static MessageBroker create(RabbitBrokerOptions options) {
    return new RabbitBrokerImpl(Objects.requireNonNull(options, "options"));
  }
}
