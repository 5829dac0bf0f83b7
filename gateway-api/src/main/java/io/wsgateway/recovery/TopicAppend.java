package io.wsgateway.recovery;

/**
 * A publication appended to a topic's history.
 *
 * @param offset its offset in the topic's stream, from 1 within an epoch
 * @param epoch the stream's epoch
 * @param duplicate whether the message was found already appended (a redelivery); then {@code
 *     offset} is the earlier append's
 */
public record TopicAppend(long offset, long epoch, boolean duplicate) {}
