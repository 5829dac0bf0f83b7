/**
 * Test support shared by the compatibility kits: {@link io.wsgateway.testkit.Await}, waits that poll
 * against a deadline instead of sleeping.
 *
 * <p>The kits themselves are {@link io.wsgateway.testkit.registry.ConnectionRegistryCompatibilityKit}
 * and {@link io.wsgateway.testkit.broker.MessageBrokerCompatibilityKit}.
 */
package io.wsgateway.testkit;
