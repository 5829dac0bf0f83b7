/**
 * The compatibility kit of the {@link io.wsgateway.broker.MessageBroker} SPI: start at {@link
 * io.wsgateway.testkit.broker.MessageBrokerCompatibilityKit}; {@link
 * io.wsgateway.testkit.broker.RecordingHandler} records what a broker delivers, for broker tests.
 */
package io.wsgateway.testkit.broker;
