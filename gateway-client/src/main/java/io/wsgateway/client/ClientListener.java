package io.wsgateway.client;

/**
 * Receives what a {@link GatewayClient} sees. Every method has a no-op default.
 *
 * <p>Methods are called on the client's I/O thread, one at a time and never concurrently for one
 * client; they must not block (hand long work to an executor). An exception thrown by a method is
 * logged and otherwise ignored.
 */
public interface ClientListener {

  /**
   * A message, exactly once and in order: direct messages by {@code seq} within the session, each
   * topic's messages by {@code offset} within the topic (see {@link GatewayClient}).
   */
  default void onMessage(ClientMessage message) {}

  /** The client moved from {@code from} to {@code to}. */
  default void onStateChanged(ClientState from, ClientState to) {}

  /**
   * Something went wrong that no returned stage reports. {@code code} is one of the {@code
   * ClientException} constants ({@link ClientException#RESUME_FAILED}, {@link ClientException#GAP},
   * {@link ClientException#TOPIC_GAP}, {@link ClientException#CONNECT_FAILED}, {@link
   * ClientException#CONNECTION_LOST}, {@link ClientException#REFRESH_FAILED}, {@link
   * ClientException#RESUBSCRIBE_FAILED}) or a server error
   * code from an {@code error} frame that no pending operation claimed (e.g. {@code malformed}
   * without an id).
   */
  default void onError(String code, String message) {}

  /**
   * A frame that is neither a message nor part of the protocol's bookkeeping, e.g. a host's reply
   * to a custom frame sent with {@link GatewayClient#sendFrame}. {@code type} is its {@code type}
   * field; {@code json} the whole frame.
   */
  default void onFrame(String type, String json) {}
}
