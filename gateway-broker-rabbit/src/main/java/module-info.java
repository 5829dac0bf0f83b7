/**
 * The RabbitMQ message broker: {@link io.wsgateway.rabbit.RabbitBroker}. amqp-client and Jackson stay
 * behind the exported package; no AMQP type appears in its API.
 */
module io.wsgateway.rabbit {
  // Transitive: RabbitBroker.create returns io.wsgateway.broker.MessageBroker.
  requires transitive io.wsgateway.broker;
  // amqp-client ships no module-info; "com.rabbitmq.client" is its Automatic-Module-Name.
  requires com.rabbitmq.client;
  requires com.fasterxml.jackson.databind;
  requires org.slf4j;

  exports io.wsgateway.rabbit;
}
