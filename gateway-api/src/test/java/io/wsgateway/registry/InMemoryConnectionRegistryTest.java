package io.wsgateway.registry;

import java.time.Duration;
import org.junit.jupiter.api.DisplayName;

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
