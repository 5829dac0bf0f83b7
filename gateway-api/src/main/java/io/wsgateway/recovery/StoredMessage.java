package io.wsgateway.recovery;

import java.util.Objects;

/**
 * One message in a session's history.
 *
 * @param id the message id
 * @param frame the message frame without its {@code seq} (see docs/protocol.md); do not modify
 */
public record StoredMessage(String id, byte[] frame) {
  public StoredMessage {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(frame, "frame");
  }
}
