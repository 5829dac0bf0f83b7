package io.wsgateway;

/** WebSocket close codes the gateway sends, and why. Part of the protocol contract. */
public final class CloseCodes {

  /** Normal closure. */
  public static final int NORMAL = 1000;
  /** The instance is shutting down or draining; reconnect elsewhere. */
  public static final int GOING_AWAY = 1001;
  /** The client broke the WebSocket protocol. */
  public static final int PROTOCOL_ERROR = 1002;
  /** A binary frame arrived and the host does not accept binary. */
  public static final int UNSUPPORTED_DATA = 1003;
  /** No close frame was exchanged: the socket dropped. Never sent on the wire. */
  public static final int ABNORMAL = 1006;
  /** A text frame was not valid UTF-8. */
  public static final int INVALID_PAYLOAD = 1007;
  /** Policy violation: slow consumer, idle timeout, or a limit. The reason says which. */
  public static final int POLICY_VIOLATION = 1008;
  /** A message exceeded the maximum message size. */
  public static final int MESSAGE_TOO_BIG = 1009;
  /** The server failed unexpectedly. */
  public static final int INTERNAL_ERROR = 1011;
  /**
   * Try again later (RFC 6455 registry): a dependency the connection needs, such as the recovery
   * store, is unavailable; reconnect with backoff.
   */
  public static final int TRY_AGAIN_LATER = 1013;
  /** The token expired and was not refreshed in time. */
  public static final int TOKEN_EXPIRED = 4001;
  /** The connection was replaced or closed by the host. */
  public static final int CLOSED_BY_HOST = 4002;

  /** Reason sent with {@link #POLICY_VIOLATION} when a client does not read fast enough. */
  public static final String REASON_SLOW_CONSUMER = "slow consumer";
  /** Reason sent with {@link #POLICY_VIOLATION} when a client stays silent past the idle timeout. */
  public static final String REASON_IDLE_TIMEOUT = "idle timeout";
  /** Reason sent with {@link #TOKEN_EXPIRED}. */
  public static final String REASON_TOKEN_EXPIRED = "token expired";
  /** Reason sent with {@link #GOING_AWAY} on shutdown. */
  public static final String REASON_SHUTDOWN = "server shutting down";
  /** Reason sent with {@link #GOING_AWAY} at a drain's deadline. */
  public static final String REASON_DRAINING = "draining";
  /** Reason sent with {@link #UNSUPPORTED_DATA}. */
  public static final String REASON_BINARY_UNSUPPORTED = "binary frames are not accepted";
  /** Reason sent with {@link #MESSAGE_TOO_BIG}. */
  public static final String REASON_TOO_BIG = "message too big";
  /** Reason with {@link #TRY_AGAIN_LATER}: the session could not be opened or kept in the store. */
  public static final String REASON_STORE_UNAVAILABLE = "recovery store unavailable";
  /** Reason with {@link #CLOSED_BY_HOST}: the client resumed its session on another connection. */
  public static final String REASON_RESUMED_ELSEWHERE = "session resumed elsewhere";
  /**
   * Reason sent with {@link #POLICY_VIOLATION} when a client's frames drew more protocol errors
   * ({@code malformed}, {@code rate_limited}, {@code unknown_type}) than the gateway allows in its window.
   */
  public static final String REASON_PROTOCOL_ERRORS = "too many protocol errors";

  private CloseCodes() {}
}
