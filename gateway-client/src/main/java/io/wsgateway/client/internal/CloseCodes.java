package io.wsgateway.client.internal;

/**
 * The WebSocket close codes the client acts on; the gateway's {@code io.wsgateway.CloseCodes} is not
 * a dependency of the client, so the few it needs are repeated here with the protocol's meaning.
 */
final class CloseCodes {
  /** Normal closure: sent by the client, and by the server when echoing or asking for a reconnect. */
  static final int NORMAL = 1000;
  /** No close frame: the socket dropped. Never on the wire. */
  static final int ABNORMAL = 1006;
  /** Idle timeout or slow consumer (the reason says which): reconnect. */
  static final int POLICY_VIOLATION = 1008;
  /** The token expired without a refresh: reconnect with a fresh token from the supplier. */
  static final int TOKEN_EXPIRED = 4001;

  private CloseCodes() {}
}
