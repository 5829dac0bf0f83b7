package io.wsgateway.client;

import java.util.Objects;

/**
 * A {@code message} frame delivered to the application, exactly once and in {@code seq} order.
 * Immutable; safe to hand to other threads.
 *
 * @param from the sending user, or {@code null} when the host sent it
 * @param topic the topic for topic messages, or {@code null} for direct messages
 * @param data the {@code data} value as raw JSON text, exactly as the sender wrote it
 * @param seq the message's sequence number in the client's session (1, 2, 3, ...)
 */
public record ClientMessage(String from, String topic, String data, long seq) {

  public ClientMessage {
    Objects.requireNonNull(data, "data");
  }
}
