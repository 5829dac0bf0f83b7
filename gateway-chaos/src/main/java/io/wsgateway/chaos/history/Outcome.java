package io.wsgateway.chaos.history;

/** How an operation (send, publish, backend publish) ended, as its invoker saw it. */
public enum Outcome {
  /** Acknowledged: the gateway acked the send or publish, or RabbitMQ confirmed the backend publish. */
  ACKED,
  /** Refused with an error code (e.g. {@code user_offline}, a RabbitMQ nack): definitely not acknowledged. */
  FAILED,
  /**
   * Indeterminate: the connection dropped before the ack ({@code connection_lost}), the ack timed out, or
   * the channel closed before the confirm. The message may or may not have been delivered.
   */
  UNKNOWN
}
