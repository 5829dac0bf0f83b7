package io.wsgateway.client;

import java.util.Objects;

/**
 * Why an operation of a {@link GatewayClient} failed: a server error code (from an {@code error}
 * frame, e.g. {@code user_offline}, see the protocol's error codes) or one of the client's own
 * codes below. Codes are part of the contract; messages are for humans.
 */
public final class ClientException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** More than {@code maxPendingSends} operations were pending; the call was refused at once. */
  public static final String CLIENT_OVERLOADED = "client_overloaded";
  /** No ack or error arrived within {@code ackTimeout} of the call. */
  public static final String ACK_TIMEOUT = "ack_timeout";
  /**
   * The connection the frame was written on dropped before its ack; the server may or may not have
   * handled it. The client does not resend it (that could apply it twice).
   */
  public static final String CONNECTION_LOST = "connection_lost";
  /** {@link GatewayClient#close()} was called before the operation completed. */
  public static final String CLIENT_CLOSED = "client_closed";
  /** The frame given to {@link GatewayClient#sendFrame} is not a JSON object with a string type. */
  public static final String INVALID_FRAME = "invalid_frame";
  /** Listener only: a connection attempt failed (network, handshake rejection, timeout, token). */
  public static final String CONNECT_FAILED = "connect_failed";
  /**
   * Listener only: a reconnect got a new session instead of resuming the old one; messages may have
   * been missed, so the application should resync. The message is the server's reason word
   * ({@code unsupported} when the server does not resume at all).
   */
  public static final String RESUME_FAILED = "resume_failed";
  /** Listener only: a token refresh failed; the server will close with 4001 and the client reconnects. */
  public static final String REFRESH_FAILED = "refresh_failed";
  /**
   * Listener only: the server refused to re-subscribe a topic after a reconnect (e.g. {@code
   * not_authorized}); the topic is dropped. The message is {@code "<topic>: <server code>: <server
   * message>"}. A re-subscribe that failed with {@code store_unavailable} or {@code rate_limited}, or
   * got no ack in time, is retried with backoff instead, and not reported.
   */
  public static final String RESUBSCRIBE_FAILED = "resubscribe_failed";
  /**
   * Listener only: the server reported direct messages of the session lost (a {@code gap} frame,
   * e.g. trimmed from the gateway's recovery store before they could be written); delivery goes on
   * after them. The message is {@code "<reason>: direct messages before seq <n> are lost"}: resync
   * from your backend.
   */
  public static final String GAP = "gap";
  /**
   * Listener only: publications of a subscribed topic are lost, because a re-subscribe could not
   * catch up on them (its ack said {@code recovered:false}: trimmed from the topic's history, the
   * history's epoch changed, or the store was unavailable) or the server sent a topic {@code gap}
   * frame. Delivery of the topic goes on after them. The message is {@code "<topic>: <reason>"}.
   */
  public static final String TOPIC_GAP = "topic_gap";

  private final String code;

  public ClientException(String code, String message) {
    super(Objects.requireNonNull(code, "code") + ": " + message);
    this.code = code;
  }

  /** The error code: a server code or one of this class's constants. */
  public String code() {
    return code;
  }
}
