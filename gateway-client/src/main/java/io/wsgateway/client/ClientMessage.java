package io.wsgateway.client;

import java.util.Objects;

/**
 * A {@code message} frame delivered to the application, exactly once and in order: a direct
 * message in {@code seq} order within the session, a topic message in {@code offset} order within
 * its topic. Immutable; safe to hand to other threads.
 *
 * @param from the sending user, or {@code null} when the host sent it
 * @param topic the topic for topic messages, or {@code null} for direct messages
 * @param data the {@code data} value as raw JSON text, exactly as the sender wrote it
 * @param seq the direct message's seq in the session (1, 2, 3, ...), or a topic message's offset in
 *     its topic (0 when the gateway has no topic history)
 */
public record ClientMessage(String from, String topic, String data, long seq) {

  public ClientMessage {
    Objects.requireNonNull(data, "data");
  }
}
