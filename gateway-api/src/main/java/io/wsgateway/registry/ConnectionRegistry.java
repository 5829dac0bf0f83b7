package io.wsgateway.registry;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The shared record of which instances hold which users' connections; the gateway asks it where to
 * route a direct message.
 *
 * <p>Implementations are thread-safe and never block: every method returns a stage that completes
 * when the work is done. A registry that cannot reach its store fails the stage with a {@link
 * io.wsgateway.GatewayException} of code {@link io.wsgateway.ErrorCodes#REGISTRY_UNAVAILABLE}. One
 * registry may serve several gateways of one JVM. Its creator closes it, after those gateways.
 */
public interface ConnectionRegistry extends AutoCloseable {

  /** Records that {@code connection} is live on its instance. Idempotent. */
  CompletionStage<Void> register(RegisteredConnection connection);

  /** Forgets {@code connection}. Idempotent; unknown connections are ignored. */
  CompletionStage<Void> unregister(RegisteredConnection connection);

  /**
   * The live instances holding at least one connection of {@code userId}; empty if none. Instances
   * that are {@link InstanceStatus#GONE} or whose liveness lapsed are never returned.
   */
  CompletionStage<Set<String>> instancesOf(String userId);

  /** The user's presence: connection count and instances, on live instances only. */
  CompletionStage<Presence> presence(String userId);

  /**
   * Called once when a gateway instance starts; a registry that tracks instance liveness starts doing
   * so here. A new attach of an instance id replaces entries of any earlier instance of that id.
   * Default: nothing to do.
   */
  default CompletionStage<Void> attach(InstanceContext instance) {
    return CompletableFuture.completedFuture(null);
  }

  /** Records an instance's lifecycle state; {@link InstanceStatus#GONE} removes its entries. */
  default CompletionStage<Void> setInstanceStatus(String instanceId, InstanceStatus status) {
    return CompletableFuture.completedFuture(null);
  }

  /** Releases the registry's resources. Idempotent. */
  @Override
  default void close() {}
}
