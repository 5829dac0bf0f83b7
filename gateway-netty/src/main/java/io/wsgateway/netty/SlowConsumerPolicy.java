package io.wsgateway.netty;

/** What the gateway does with a client whose outbound buffer stays above the high water mark. */
public enum SlowConsumerPolicy {
  /**
   * Close the connection with 1008 "slow consumer" once it stayed unwritable longer than the grace
   * period, or at once when its buffer reaches the hard limit. The client reconnects (and, with
   * session recovery, resumes). The default.
   */
  CLOSE,
  /**
   * Drop messages for the client while it is unwritable. Sequence numbers still advance, so the
   * client sees the gap. The connection is still closed at the hard limit.
   */
  DROP
}
