package io.wsgateway.recovery;

import java.util.List;

/**
 * Messages read from a session's history.
 *
 * @param firstSeq the sequence number of {@code messages.get(0)}
 * @param messages the messages, oldest first
 * @param trimmed whether messages after the requested seq were already dropped (the client must resync)
 */
public record Backlog(long firstSeq, List<StoredMessage> messages, boolean trimmed) {
  public Backlog {
    messages = List.copyOf(messages);
  }
}
