/**
 * The connection registry SPI: which instances hold which users' connections.
 *
 * <p>Start at {@link io.wsgateway.registry.ConnectionRegistry}; {@link
 * io.wsgateway.registry.InMemoryConnectionRegistry} is the embedded default.
 */
package io.wsgateway.registry;
