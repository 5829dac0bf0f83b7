package io.wsgateway.recovery;

import java.util.List;

/**
 * Publications read from a topic's history.
 *
 * @param epoch the history's current epoch (0: none); a reader that expected another one missed
 *     what the lost epoch had
 * @param firstOffset the offset of {@code messages.get(0)}
 * @param messages the messages, oldest first
 * @param trimmed whether publications after the offset asked for were already dropped (too old or
 *     too many), or the offset asked for is ahead of the history
 */
public record TopicBacklog(long epoch, long firstOffset, List<StoredMessage> messages, boolean trimmed) {

  public TopicBacklog {
    messages = List.copyOf(messages);
  }
}
