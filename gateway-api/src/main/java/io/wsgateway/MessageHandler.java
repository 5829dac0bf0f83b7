package io.wsgateway;

/**
 * Host hook for client frames whose {@code type} the default protocol does not reserve.
 *
 * <p>Called on the connection's I/O thread, in arrival order: must not block; hand slow work to
 * another executor and answer later with {@link Connection#sendFrame}.
 */
@FunctionalInterface
public interface MessageHandler {

  /**
   * Handles one frame.
   *
   * @param connection who sent it (its {@link Connection#principal()} is authenticated)
   * @param type the frame's {@code type}
   * @param frame the whole frame as received, UTF-8 JSON text
   */
  void onMessage(Connection connection, String type, String frame);

  /**
   * Handles a binary frame; called only when the gateway is configured to accept binary frames.
   * Default: ignore.
   */
  default void onBinary(Connection connection, byte[] data) {}
}
