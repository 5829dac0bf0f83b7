package io.wsgateway.client;

/**
 * The life cycle of a {@link GatewayClient}, reported to {@link ClientListener#onStateChanged}.
 *
 * <pre>
 * IDLE --connect()--&gt; CONNECTING --welcome--&gt; CONNECTED --lost--&gt; RECONNECTING --welcome--&gt; CONNECTED
 *                      CONNECTING --attempt failed--&gt; RECONNECTING
 * any --close()--&gt; CLOSED
 * </pre>
 */
public enum ClientState {
  /** Built, {@link GatewayClient#connect()} not called yet. */
  IDLE,
  /** The first connection attempt is in progress. */
  CONNECTING,
  /** A welcome arrived on the current connection; frames flow. */
  CONNECTED,
  /** Connection lost or an attempt failed: waiting out the backoff, or attempting again. */
  RECONNECTING,
  /** {@link GatewayClient#close()} was called; final. */
  CLOSED
}
