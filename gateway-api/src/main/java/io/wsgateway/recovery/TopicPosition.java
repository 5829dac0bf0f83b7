package io.wsgateway.recovery;

/**
 * The newest offset of a topic's history.
 *
 * @param offset the newest offset, 0 before the first publication of the epoch
 * @param epoch the stream's epoch; 0 when the topic has no history yet (the first publication
 *     starts one)
 */
public record TopicPosition(long offset, long epoch) {

  /** A topic without history. */
  public static final TopicPosition NONE = new TopicPosition(0, 0);
}
