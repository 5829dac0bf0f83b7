package io.wsgateway.testkit.registry;

import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InstanceContext;
import io.wsgateway.registry.RegisteredConnection;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An {@link InstanceContext} for tests: a gateway instance reduced to the set of connections it
 * holds, kept in step with what it registers so a registry's resync can be checked.
 *
 * <p>Thread-safe. Holds no resources; nothing to close.
 */
public final class TestInstanceContext implements InstanceContext {

  private final String instanceId;
  // Concurrent: tests register from several threads while a registry may take a resync snapshot.
  private final Map<String, RegisteredConnection> live = new ConcurrentHashMap<>();

  public TestInstanceContext(String instanceId) {
    this.instanceId = Objects.requireNonNull(instanceId, "instanceId");
  }

  @Override
  public String instanceId() {
    return instanceId;
  }

  @Override
  public Collection<RegisteredConnection> liveConnections() {
    return List.copyOf(live.values());
  }

  /** A connection of {@code userId} on this instance; not yet registered. */
  public RegisteredConnection connection(String connectionId, String userId) {
    return new RegisteredConnection(connectionId, userId, instanceId);
  }

  /** Records {@code connectionId} as live here and registers it with {@code registry}. */
  public CompletionStage<Void> connect(
      ConnectionRegistry registry, String connectionId, String userId) {
    RegisteredConnection c = connection(connectionId, userId);
    live.put(connectionId, c);
    return registry.register(c);
  }

  /** Forgets {@code connectionId} here and unregisters it from {@code registry}. */
  public CompletionStage<Void> disconnect(
      ConnectionRegistry registry, String connectionId, String userId) {
    live.remove(connectionId);
    return registry.unregister(connection(connectionId, userId));
  }
}
