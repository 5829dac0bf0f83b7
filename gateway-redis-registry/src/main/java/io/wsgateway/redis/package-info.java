/**
 * Redis for gateways spread over many processes: a {@link io.wsgateway.registry.ConnectionRegistry}
 * and a {@link io.wsgateway.recovery.RecoveryStore}.
 *
 * <p>Start at {@link io.wsgateway.redis.RedisConnectionRegistry#create(RedisRegistryOptions)} with
 * {@link io.wsgateway.redis.RedisRegistryOptions#builder()}, and at {@link
 * io.wsgateway.redis.RedisRecoveryStore#create(RedisRecoveryOptions)} with {@link
 * io.wsgateway.redis.RedisRecoveryOptions#builder()}. Values are non-null unless documented
 * otherwise.
 */
package io.wsgateway.redis;
