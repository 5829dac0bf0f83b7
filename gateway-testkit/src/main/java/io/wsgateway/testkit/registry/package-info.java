/**
 * The compatibility kit of the {@link io.wsgateway.registry.ConnectionRegistry} SPI: start at
 * {@link io.wsgateway.testkit.registry.ConnectionRegistryCompatibilityKit}; {@link
 * io.wsgateway.testkit.registry.TestInstanceContext} stands for a gateway instance in registry tests.
 */
package io.wsgateway.testkit.registry;
