package io.wsgateway;

import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * A client connection held by this gateway instance, as the host sees it.
 *
 * <p>Thread-safe: methods may be called from any thread and never block. Valid until the connection
 * closes; afterwards sends fail and {@link #isOpen()} is false.
 */
public interface Connection {

  /** Unique id of this connection. */
  String id();

  /** Id of the session this connection carries; a resumed connection carries its predecessor's. */
  String sessionId();

  /** Who authenticated at the handshake (updated by a token refresh). */
  Principal principal();

  /** The client's address. */
  InetSocketAddress remoteAddress();

  /** The topics this connection subscribes to, as a snapshot. */
  Set<String> subscriptions();

  /** Whether the connection is still open. */
  boolean isOpen();

  /**
   * Sends a raw text frame (normally a JSON object with a {@code type}) to this client, outside of
   * the sequenced message stream.
   *
   * @return completes when written to the socket; fails if the connection closed
   */
  CompletionStage<Void> sendFrame(String text);

  /**
   * Closes the connection with a close frame.
   *
   * @param code a close code, see {@link CloseCodes}
   * @param reason a short reason (at most 123 bytes of UTF-8)
   */
  void close(int code, String reason);
}
