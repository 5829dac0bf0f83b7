package io.wsgateway.recovery;

/**
 * The newest offset of a topic's history.
 *
 * @param offset the newest offset, 0 before the first publication of the epoch
 * @param epoch the stream's epoch, never 0
 */
public record TopicPosition(long offset, long epoch) {}
