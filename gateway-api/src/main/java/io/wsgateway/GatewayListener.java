package io.wsgateway;

/**
 * Observes connection lifecycle and traffic, e.g. for metrics or audit. Every method has a no-op
 * default.
 *
 * <p>Called on the connection's I/O thread: implementations must be fast and must not block.
 */
public interface GatewayListener {

  /** A client completed the handshake; its welcome frame is being sent. */
  default void onConnected(Connection connection) {}

  /**
   * A connection closed.
   *
   * @param code the close code sent or received (see {@link CloseCodes}); {@link
   *     CloseCodes#ABNORMAL} when the socket dropped without a close frame
   */
  default void onDisconnected(Connection connection, int code, String reason) {}

  /** A client frame of {@code type} arrived. */
  default void onMessageIn(Connection connection, String type) {}

  /** A frame of {@code type} was written to the client. */
  default void onMessageOut(Connection connection, String type) {}

  /** The gateway moved from one lifecycle state to another. Called on the thread that caused it. */
  default void onStateChanged(GatewayState from, GatewayState to) {}
}
