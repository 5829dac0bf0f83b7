/**
 * A {@link io.wsgateway.registry.ConnectionRegistry} on Redis, for gateways spread over many
 * processes.
 *
 * <p>Start at {@link io.wsgateway.redis.RedisConnectionRegistry#create(RedisRegistryOptions)} with
 * {@link io.wsgateway.redis.RedisRegistryOptions#builder()}. Values are non-null unless documented
 * otherwise.
 */
package io.wsgateway.redis;
