package io.wsgateway.redis;

import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.testkit.registry.ConnectionRegistryCompatibilityKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;

@DisplayName("RedisConnectionRegistry passes the ConnectionRegistry compatibility kit")
class RedisConnectionRegistryCompatibilityTest extends ConnectionRegistryCompatibilityKit {

  private static RedisTestSupport support;

  @BeforeAll
  static void openSupport() {
    support = new RedisTestSupport();
  }

  @AfterAll
  static void deleteKeys() {
    support.close();
  }

  @Override
  protected ConnectionRegistry newRegistry() {
    return RedisConnectionRegistry.create(
        RedisTestSupport.testOptions(support.newStorePrefix()).build());
  }

  @Override
  protected ConnectionRegistry peerOf(ConnectionRegistry registry) {
    // Another process: its own connection and view, the same Redis and prefix.
    return RedisConnectionRegistry.create(((RedisConnectionRegistry) registry).options());
  }

  @Override
  protected boolean supportsLiveness() {
    return true;
  }

  @Override
  protected void lapse(ConnectionRegistry handle, String instanceId) {
    // A crash: the process's heartbeats stop, nothing is unregistered. Expiring the liveness key
    // stands for waiting out its TTL.
    String prefix = ((RedisConnectionRegistry) handle).options().keyPrefix();
    handle.close();
    support.redis.del(RedisTestSupport.livenessKey(prefix, instanceId));
  }
}
