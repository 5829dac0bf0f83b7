package io.wsgateway.netty.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * One topic publication, encoded once as WebSocket wire bytes and shared by the connections of one
 * fan-out batch: each gets a duplicate of one buffer (no copy, no per-connection encoding). Every
 * subscriber gets the same bytes: a publication's number is the topic's offset (or none without a
 * history), not a per-connection one.
 *
 * <p>Confined to the event loop that runs the batch, and valid only while the batch runs: whatever a
 * connection keeps for later (a publication held behind a gap) keeps {@link #prefix()}, never a
 * buffer from here. The batch calls {@link #release()} at its end; the duplicates handed out hold
 * references of their own, released once written.
 */
final class SharedFrame {

  private final byte[] prefix;
  private final long number;
  private ByteBuf frame;

  /**
   * @param prefix the publication's frame up to its number (see {@link Protocol#topicPrefix})
   * @param number its offset, or -1 without a topic history
   */
  SharedFrame(byte[] prefix, long number) {
    this.prefix = prefix;
    this.number = number;
  }

  byte[] prefix() {
    return prefix;
  }

  long number() {
    return number;
  }

  /**
   * The complete text frame, for a connection without extensions; the caller owns the returned
   * buffer (writing it hands it on).
   */
  ByteBuf wireFrame(ByteBufAllocator alloc) {
    if (frame == null) {
      frame = Protocol.wireMessage(alloc, prefix, number);
    }
    return frame.retainedDuplicate();
  }

  /** Drops this batch's reference; buffers still queued on sockets live on until written. */
  void release() {
    if (frame != null) {
      frame.release();
      frame = null;
    }
  }
}
