/**
 * A {@link io.wsgateway.broker.MessageBroker} on RabbitMQ, for gateways that run as several instances.
 *
 * <p>Start at {@link io.wsgateway.rabbit.RabbitBroker#create(RabbitBrokerOptions)}; configure it with
 * {@link io.wsgateway.rabbit.RabbitBrokerOptions#builder()}. The exchanges and queues it uses are
 * described in {@code docs/backend.md}.
 */
package io.wsgateway.rabbit;
