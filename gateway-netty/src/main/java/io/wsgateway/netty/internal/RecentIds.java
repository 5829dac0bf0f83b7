package io.wsgateway.netty.internal;

/**
 * The ids of a session's last {@value #SIZE} messages, to drop a copy that arrives twice: during a
 * hand-over, when a crashed instance's unacknowledged work is delivered again by another, or when a
 * closing connection and the detached session taking its place both get one message. Kept as 64-bit
 * hashes in a ring, so nothing is retained per id. Used from one event loop at a time; synchronized
 * for the rare call from elsewhere.
 */
final class RecentIds {

  static final int SIZE = 128;

  private final long[] ring = new long[SIZE];
  private int next;

  /** Records {@code id}; false if it was among the recent ones. */
  synchronized boolean firstTime(String id) {
    long h = hash64(id);
    for (long seen : ring) {
      if (seen == h) {
        return false;
      }
    }
    ring[next] = h;
    next = (next + 1) % SIZE;
    return true;
  }

  /**
   * FNV-1a over the id's chars, then a SplitMix64 finalizer. Never 0 (the ring's empty slot). With 64
   * bits, a false match among 128 recent ids is about one in 10^17 messages.
   */
  static long hash64(String id) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < id.length(); i++) {
      h ^= id.charAt(i);
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h == 0 ? 1 : h;
  }
}
