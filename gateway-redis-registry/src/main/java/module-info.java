/**
 * The Redis connection registry ({@link io.wsgateway.redis.RedisConnectionRegistry}) and recovery
 * store ({@link io.wsgateway.redis.RedisRecoveryStore}). Lettuce stays behind the exported package;
 * no Lettuce type appears in its API.
 */
module io.wsgateway.redis {
  // lettuce-core 7.x ships no module-info; "lettuce.core" is its Automatic-Module-Name.
  requires lettuce.core;
  requires transitive io.wsgateway.api;
  requires org.slf4j;

  exports io.wsgateway.redis;
}
