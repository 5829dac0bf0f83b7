package io.wsgateway.netty.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The topic fan-out of one event loop: runs each publish's batch for the connections of that loop,
 * and coalesces the flushes of batches queued back to back.
 *
 * <p>A batch writes the message to each of its connections, encoded once ({@link SharedFrame}).
 * When it is the last fan-out batch queued on the loop it flushes each connection right after
 * writing to it, so the first subscribers' bytes leave while the rest are written. When more batches
 * are already queued behind it, it leaves the flushes to the last of them: a connection then gets
 * those messages in one {@code write} syscall instead of one each, which is most of a delivery's cost
 * (see docs/BENCHMARKS.md, fanout). {@link #queued} is the only state touched from other threads.
 */
final class FanOutLoop {

  /** Batches submitted to this loop and not yet started; incremented by the publishing thread. */
  private final AtomicInteger queued = new AtomicInteger();
  /** Connections written by earlier batches that owe them a flush (event-loop confined). */
  private final List<ConnectionHandler> unflushed = new ArrayList<>();

  /** Counts a batch about to be submitted; pair with {@link #run} or {@link #rejected}. */
  void submitting() {
    queued.incrementAndGet();
  }

  /** The loop refused the batch (it is stopping). */
  void rejected() {
    queued.decrementAndGet();
  }

  /**
   * Runs one batch on the loop: every connection in {@code batch} belongs to it.
   *
   * @param offset the publication's offset in the topic's history, or -1 without one
   * @param epoch the history's epoch, 0 without one
   */
  void run(List<ConnectionHandler> batch, String topic, String messageId, byte[] prefix, long offset, long epoch) {
    boolean last = queued.decrementAndGet() == 0;
    SharedFrame frame = new SharedFrame(prefix, offset);
    try {
      for (int i = 0, n = batch.size(); i < n; i++) {
        ConnectionHandler c = batch.get(i);
        if (c.writeInBatch(topic, messageId, epoch, frame)) {
          if (last) {
            c.flushBatch();
          } else {
            unflushed.add(c);
          }
        }
      }
    } finally {
      frame.release();
      if (last) {
        flushUnflushed();
      }
    }
  }

  private void flushUnflushed() {
    for (int i = 0, n = unflushed.size(); i < n; i++) {
      unflushed.get(i).flushBatch();
    }
    unflushed.clear();
  }
}
