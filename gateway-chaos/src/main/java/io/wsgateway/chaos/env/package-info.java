/**
 * The run's environment: the private {@code redis-server} ({@link io.wsgateway.testkit.RedisServer}), the gateway
 * {@link io.wsgateway.chaos.env.Fleet} of {@link io.wsgateway.chaos.env.GatewayNode}s, the
 * {@link io.wsgateway.chaos.env.HaProxy} in front of it, and {@link io.wsgateway.chaos.env.RabbitAdmin}
 * for the shared RabbitMQ. Every name and port is unique to the run.
 */
package io.wsgateway.chaos.env;
