package io.wsgateway.registry;

import java.util.Objects;

/**
 * A connection as the registry records it: which user it belongs to and which instance holds it.
 *
 * @param connectionId unique id of the connection
 * @param userId the authenticated user
 * @param instanceId the instance holding the socket
 */
public record RegisteredConnection(String connectionId, String userId, String instanceId) {
  public RegisteredConnection {
    Objects.requireNonNull(connectionId, "connectionId");
    Objects.requireNonNull(userId, "userId");
    Objects.requireNonNull(instanceId, "instanceId");
  }
}
