package io.wsgateway.broker;

/** Why a broker could not take or route an envelope. The gateway reports it to the sender. */
public class BrokerException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** The kinds of broker failure the gateway distinguishes. */
  public enum Reason {
    /** The broker is not reachable now, and its outage buffer is full or the wait timed out. */
    UNAVAILABLE,
    /** The destination inbox does not exist (its instance is gone). */
    NO_ROUTE,
    /** Too much is in flight; the caller should slow down. */
    OVERLOADED,
    /** The operation is not supported by this broker. */
    UNSUPPORTED,
    /** The endpoint or broker is closed. */
    CLOSED
  }

  private final Reason reason;

  public BrokerException(Reason reason, String message) {
    super(message);
    this.reason = java.util.Objects.requireNonNull(reason, "reason");
  }

  public BrokerException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = java.util.Objects.requireNonNull(reason, "reason");
  }

  /** The kind of failure. */
  public Reason reason() {
    return reason;
  }
}
