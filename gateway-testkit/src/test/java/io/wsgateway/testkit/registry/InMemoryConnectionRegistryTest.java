package io.wsgateway.testkit.registry;

import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InMemoryConnectionRegistry;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;

// Here rather than in gateway-api: gateway-testkit depends on gateway-api, so gateway-api's tests
// cannot extend the kit. The embedded default is checked from outside, like any third party's.
@DisplayName("InMemoryConnectionRegistry passes the ConnectionRegistry compatibility kit")
class InMemoryConnectionRegistryTest extends ConnectionRegistryCompatibilityKit {

  @Override
  protected ConnectionRegistry newRegistry() {
    return InMemoryConnectionRegistry.create();
  }

  @Override
  protected Duration propagation() {
    // One map in one JVM: a change is visible through every handle at once.
    return Duration.ZERO;
  }
}
