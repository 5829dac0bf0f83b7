package io.wsgateway.chaos.check;

import java.util.Arrays;

/**
 * Counts of one stream kind (or of all), filled by the {@link Checker}. Message counts are per
 * operation; "due", "delivered" and the loss counts are per (message, recipient) pair, since a topic
 * message is due to every subscriber. Not thread-safe; read it after the check.
 */
public final class StreamStats {

  long invoked;
  long acked;
  long failed;
  long unknown;
  long due;
  long delivered;
  long lost;
  long lostSignalled;
  long unackedUndelivered;
  long unackedDelivered;
  long deliveries;
  long duplicates;
  long reordered;
  long misdelivered;
  private long[] delays = new long[64];
  private int delayCount;
  String worstDelayId;
  String worstDelayUser;
  long worstDelay = -1;

  /** Messages sent, published or backend-published. */
  public long invoked() {
    return invoked;
  }

  /** Of those, acknowledged (acked by the gateway, or confirmed by RabbitMQ). */
  public long acked() {
    return acked;
  }

  /** Of those, refused with an error code. */
  public long failed() {
    return failed;
  }

  /** Of those, with an unknown outcome (connection lost, ack timeout, channel closed, never completed). */
  public long unknown() {
    return unknown;
  }

  /** (message, recipient) pairs due: the target of a direct or ingress message, each subscriber of a topic one. */
  public long due() {
    return due;
  }

  /** Due pairs delivered at least once. */
  public long delivered() {
    return delivered;
  }

  /** Violation: acknowledged, due, never delivered, and no loss signal covers it. */
  public long lost() {
    return lost;
  }

  /** Allowed: acknowledged, due, never delivered, but covered by an explicit loss signal to the recipient. */
  public long lostSignalled() {
    return lostSignalled;
  }

  /** Allowed: not acknowledged (failed or unknown) and not delivered. */
  public long unackedUndelivered() {
    return unackedUndelivered;
  }

  /** Information: not acknowledged (failed or unknown) yet delivered. */
  public long unackedDelivered() {
    return unackedDelivered;
  }

  /** Deliveries to the application, duplicates included. */
  public long deliveries() {
    return deliveries;
  }

  /** Violation: deliveries beyond the first of a message to a recipient. */
  public long duplicates() {
    return duplicates;
  }

  /** Violation: deliveries that came after a later message of the same stream to the same recipient. */
  public long reordered() {
    return reordered;
  }

  /** Violation: deliveries to a user the message was not for, or of a payload not of this run. */
  public long misdelivered() {
    return misdelivered;
  }

  /** The sum of the four violation counts. */
  public long violations() {
    return lost + duplicates + reordered + misdelivered;
  }

  /** The longest time from invocation to first delivery, in nanoseconds; -1 if nothing was delivered. */
  public long worstDelay() {
    return worstDelay;
  }

  /** The message of {@link #worstDelay()}, or {@code null}. */
  public String worstDelayId() {
    return worstDelayId;
  }

  /** The recipient of {@link #worstDelay()}, or {@code null}. */
  public String worstDelayUser() {
    return worstDelayUser;
  }

  /** The delay (invocation to first delivery) below which {@code percent} % of deliveries fall, in nanoseconds; -1 if none. */
  public long delayPercentile(double percent) {
    if (delayCount == 0) {
      return -1;
    }
    long[] sorted = Arrays.copyOf(delays, delayCount);
    Arrays.sort(sorted);
    int index = (int) Math.ceil(percent / 100.0 * delayCount) - 1;
    return sorted[Math.max(0, Math.min(delayCount - 1, index))];
  }

  void delay(long nanos, String id, String user) {
    append(nanos);
    if (nanos > worstDelay) {
      worstDelay = nanos;
      worstDelayId = id;
      worstDelayUser = user;
    }
  }

  private void append(long nanos) {
    if (delayCount == delays.length) {
      delays = Arrays.copyOf(delays, delays.length * 2);
    }
    delays[delayCount++] = nanos;
  }

  void add(StreamStats o) {
    invoked += o.invoked;
    acked += o.acked;
    failed += o.failed;
    unknown += o.unknown;
    due += o.due;
    delivered += o.delivered;
    lost += o.lost;
    lostSignalled += o.lostSignalled;
    unackedUndelivered += o.unackedUndelivered;
    unackedDelivered += o.unackedDelivered;
    deliveries += o.deliveries;
    duplicates += o.duplicates;
    reordered += o.reordered;
    misdelivered += o.misdelivered;
    for (int i = 0; i < o.delayCount; i++) {
      append(o.delays[i]);
    }
    if (o.worstDelay > worstDelay) {
      worstDelay = o.worstDelay;
      worstDelayId = o.worstDelayId;
      worstDelayUser = o.worstDelayUser;
    }
  }
}
