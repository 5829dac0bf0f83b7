package io.wsgateway;

/** The lifecycle of a gateway instance: {@code NEW -> RUNNING -> DRAINING -> DRAINED -> STOPPED}. */
public enum GatewayState {
  /** Built, not started. */
  NEW,
  /** Accepting connections and routing. */
  RUNNING,
  /**
   * Refusing new connections (503) and readiness; its clients are being told to reconnect elsewhere;
   * messages for clients still connected keep flowing.
   */
  DRAINING,
  /** Every client has left or was closed at the drain deadline; ready to be closed. */
  DRAINED,
  /** Closed. */
  STOPPED
}
