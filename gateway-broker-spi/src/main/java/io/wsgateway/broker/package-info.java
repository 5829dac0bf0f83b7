/**
 * The message broker SPI that carries envelopes between gateway instances.
 *
 * <p>Start at {@link io.wsgateway.broker.MessageBroker}: an implementation attaches one
 * {@link io.wsgateway.broker.BrokerEndpoint} per gateway instance. {@link
 * io.wsgateway.broker.InProcessBroker} is the embedded default that lets several gateways in one JVM
 * route to each other; {@link io.wsgateway.broker.Envelope} is what travels.
 */
package io.wsgateway.broker;
