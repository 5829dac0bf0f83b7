package io.wsgateway.registry;

import java.util.Objects;
import java.util.Set;

/**
 * A user's presence across the fleet: how many live connections, on which instances.
 *
 * @param userId the user
 * @param connections live connections on live instances
 * @param instances the live instances holding them
 */
public record Presence(String userId, int connections, Set<String> instances) {
  public Presence {
    Objects.requireNonNull(userId, "userId");
    instances = Set.copyOf(instances);
    if (connections < 0) {
      throw new IllegalArgumentException("connections: " + connections + " (expected: >= 0)");
    }
  }

  /** Whether the user has at least one live connection. */
  public boolean online() {
    return connections > 0;
  }
}
