package io.wsgateway.registry;

import io.wsgateway.internal.InMemoryRegistryImpl;

/**
 * Factory for the embedded registry: a map in this JVM, shared by the gateways that use it. The
 * default when no external registry is configured; fine for one instance or several in one JVM.
 */
public final class InMemoryConnectionRegistry {

  private InMemoryConnectionRegistry() {}

  /** A new, empty registry. */
  public static ConnectionRegistry create() {
    return new InMemoryRegistryImpl();
  }
}
