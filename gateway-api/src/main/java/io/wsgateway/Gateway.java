package io.wsgateway;

import java.util.Collection;
import java.util.concurrent.CompletionStage;

/**
 * One gateway instance: accepts WebSocket clients, authenticates them at the handshake, and routes
 * messages between them, to them from the host service, and across instances through the registry
 * and broker it was built with.
 *
 * <p>Thread-safe. {@link #start()} and {@link #close()} block the calling thread and must not be
 * called from an event loop; every other method is non-blocking and may be called from any thread.
 * Whoever built the gateway closes it; it does not close the registry or broker it was given.
 */
public interface Gateway extends AutoCloseable {

  /**
   * Binds the listening socket and attaches to the registry and broker. Blocks until the gateway
   * accepts connections.
   *
   * @throws GatewayException if binding or attaching fails
   */
  void start();

  /** The id of this instance, unique across the fleet; other instances route to it by this id. */
  String instanceId();

  /** The port the gateway listens on; useful when configured with port 0. Valid after {@link #start()}. */
  int port();

  /**
   * Sends {@code data} to every connection of {@code userId}, on any instance.
   *
   * @param data one complete JSON value (object, array, string, number...), sent as is
   * @return completes once the message was handed to every instance holding a connection of the
   *     user; fails with a {@link GatewayException} whose {@link GatewayException#code() code} is one
   *     of {@link ErrorCodes}, e.g. {@link ErrorCodes#USER_OFFLINE}
   */
  CompletionStage<Void> sendToUser(String userId, String data);

  /**
   * Publishes {@code data} to every subscriber of {@code topic} on any instance.
   *
   * @param data one complete JSON value
   * @return completes once the broker accepted the message
   */
  CompletionStage<Void> publish(String topic, String data);

  /** The port of the admin listener, or -1 when the gateway has none. Valid after {@link #start()}. */
  default int adminPort() {
    return -1;
  }

  /**
   * Where a user is connected across the fleet, as the registry knows it.
   *
   * @return the user's presence; fails with {@link ErrorCodes#REGISTRY_UNAVAILABLE} when the
   *     registry cannot be reached
   */
  CompletionStage<io.wsgateway.registry.Presence> presence(String userId);

  /** A snapshot of the connections held by this instance. */
  Collection<Connection> connections();

  /** The number of connections held by this instance. */
  int connectionCount();

  /** The instance's lifecycle state. */
  GatewayState state();

  /**
   * Drains the instance: refuses new handshakes (503 with {@code Retry-After}) and readiness, marks
   * the instance draining in the registry, tells each client to reconnect at a moment spread
   * uniformly over the window, keeps delivering to clients still connected, and closes the rest with
   * {@link CloseCodes#GOING_AWAY} at the deadline. Idempotent: a second call returns the same stage.
   *
   * @return completes with the report when the last connection is gone ({@link GatewayState#DRAINED})
   * @throws IllegalStateException if the gateway is not running or draining
   */
  CompletionStage<DrainReport> drain(DrainOptions options);

  /** Stops accepting, closes every connection with {@link CloseCodes#GOING_AWAY}, detaches. Idempotent. */
  @Override
  void close();
}
