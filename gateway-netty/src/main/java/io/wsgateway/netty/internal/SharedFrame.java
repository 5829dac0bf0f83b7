package io.wsgateway.netty.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * One topic message, encoded once as WebSocket wire bytes and shared by the connections of one
 * fan-out batch: connections whose next {@code seq} is the same get duplicates of one buffer (no
 * copy, no per-connection encoding), the others a frame of their own.
 *
 * <p>Confined to the event loop that runs the batch, and valid only while the batch runs: whatever a
 * connection keeps for later (a message held before its welcome, or behind a gap) keeps {@link
 * #prefix()}, never a buffer from here. The batch calls {@link #release()} at its end; the duplicates
 * handed out hold references of their own, released once written.
 */
final class SharedFrame {

  /**
   * Distinct seqs encoded and kept per batch. Subscribers that only get topic messages share one
   * seq (typically all of them); beyond this many distinct ones, the rest are encoded one by one, as
   * a lookup in a larger table would cost about as much as the copy it saves for small frames.
   */
  private static final int MAX_SHARED = 8;

  private final byte[] prefix;
  private final long[] seqs = new long[MAX_SHARED];
  private final ByteBuf[] frames = new ByteBuf[MAX_SHARED];
  private int size;

  SharedFrame(byte[] prefix) {
    this.prefix = prefix;
  }

  /** The message's shared JSON prefix, up to and including {@code "seq":} (see {@link Protocol#messagePrefix}). */
  byte[] prefix() {
    return prefix;
  }

  /**
   * A complete text frame carrying {@code seq}, for a connection without extensions; the caller owns
   * the returned buffer (writing it hands it on).
   */
  ByteBuf wireFrame(ByteBufAllocator alloc, long seq) {
    for (int i = 0; i < size; i++) {
      if (seqs[i] == seq) {
        return frames[i].retainedDuplicate();
      }
    }
    ByteBuf frame = Protocol.wireMessage(alloc, prefix, seq);
    if (size == MAX_SHARED) {
      return frame;
    }
    seqs[size] = seq;
    frames[size++] = frame;
    return frame.retainedDuplicate();
  }

  /** Drops this batch's references; buffers still queued on sockets live on until written. */
  void release() {
    for (int i = 0; i < size; i++) {
      frames[i].release();
      frames[i] = null;
    }
    size = 0;
  }
}
