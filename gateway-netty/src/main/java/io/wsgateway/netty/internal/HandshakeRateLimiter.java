package io.wsgateway.netty.internal;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Token buckets of handshakes, one per remote address: {@code handshakes} at once, refilled evenly over
 * {@code period}. An IPv4 address is one key; an IPv6 address counts by its /64 prefix, since one
 * subscriber is usually given a whole /64 and could otherwise rotate through it.
 *
 * <p>Thread-safe; called from every I/O thread, never blocks for long: the table is split into
 * segments, each a small access-ordered map under its own lock. At most {@code maxAddresses} buckets are
 * kept; the least recently seen is forgotten first, and buckets that have refilled (they say nothing a
 * new bucket would not) are swept out once per period (at most once a second), by whichever caller
 * finds the sweep due. Forgetting a bucket can only let an address in
 * earlier, never refuse it: the bound costs precision under a spray of addresses, not memory.
 */
final class HandshakeRateLimiter {

  private static final int MAX_SEGMENTS = 16;
  /** Sweeps of refilled buckets are at least this far apart, however short the period. */
  private static final long MIN_SWEEP_INTERVAL_NANOS = Duration.ofSeconds(1).toNanos();

  private final int burst;
  private final Duration period;
  /** Nanoseconds for one token to come back. */
  private final double nanosPerToken;
  private final int maxAddresses;
  private final LongSupplier nanoTime;
  private final Segment[] segments;
  private final long sweepInterval;
  /** When the next sweep of refilled buckets is due; the caller that moves it does the sweep. */
  private final AtomicLong nextSweep;

  /**
   * @param handshakes the bucket size and the number refilled per period, > 0
   * @param maxAddresses the most buckets kept at once, > 0
   * @param nanoTime the time source, {@link System#nanoTime} outside tests
   */
  HandshakeRateLimiter(int handshakes, Duration period, int maxAddresses, LongSupplier nanoTime) {
    if (handshakes <= 0 || maxAddresses <= 0) {
      throw new IllegalArgumentException("handshakes: " + handshakes + ", maxAddresses: " + maxAddresses
          + " (expected: > 0)");
    }
    this.burst = handshakes;
    this.period = period;
    this.nanosPerToken = (double) period.toNanos() / handshakes;
    this.maxAddresses = maxAddresses;
    this.nanoTime = nanoTime;
    int count = Integer.highestOneBit(Math.min(MAX_SEGMENTS, maxAddresses));
    this.segments = new Segment[count];
    for (int i = 0; i < count; i++) {
      // The segments' capacities add up to at most maxAddresses.
      segments[i] = new Segment(maxAddresses / count + (i < maxAddresses % count ? 1 : 0));
    }
    this.sweepInterval = Math.max(period.toNanos(), MIN_SWEEP_INTERVAL_NANOS);
    this.nextSweep = new AtomicLong(nanoTime.getAsLong() + sweepInterval);
  }

  /**
   * Takes one handshake from {@code address}'s bucket.
   *
   * @return 0 if allowed, else the nanoseconds until the next token (a refused attempt takes nothing)
   */
  long tryAcquire(InetAddress address) {
    Key key = Key.of(address);
    Segment segment = segments[(key.hashCode() & 0x7fffffff) % segments.length];
    long now = nanoTime.getAsLong();
    long due = nextSweep.get();
    if (now - due >= 0 && nextSweep.compareAndSet(due, now + sweepInterval)) {
      sweep(now);
    }
    synchronized (segment) {
      Bucket bucket = segment.buckets.get(key);
      if (bucket == null) {
        bucket = new Bucket(burst, now);
        segment.buckets.put(key, bucket);
      } else {
        bucket.refill(now);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, (long) Math.ceil((1 - bucket.tokens) * nanosPerToken));
    }
  }

  /** Drops the buckets that have refilled, one segment lock at a time. */
  private void sweep(long now) {
    for (Segment segment : segments) {
      synchronized (segment) {
        segment.sweep(now);
      }
    }
  }

  /** How many addresses have a bucket now. */
  int trackedAddresses() {
    int n = 0;
    for (Segment segment : segments) {
      synchronized (segment) {
        n += segment.buckets.size();
      }
    }
    return n;
  }

  @Override
  public String toString() {
    return "HandshakeRateLimiter{" + burst + " per " + period + ", maxAddresses=" + maxAddresses
        + ", tracked=" + trackedAddresses() + "}";
  }

  /** A bucket's state: fractional tokens, and when they were last topped up. Guarded by its segment. */
  private final class Bucket {
    double tokens;
    long updated;

    Bucket(double tokens, long now) {
      this.tokens = tokens;
      this.updated = now;
    }

    void refill(long now) {
      long elapsed = now - updated;
      if (elapsed > 0) {
        tokens = Math.min(burst, tokens + elapsed / nanosPerToken);
        updated = now;
      }
    }
  }

  /** One share of the buckets: an access-ordered map that drops its eldest entry beyond its capacity. */
  private final class Segment {
    final Map<Key, Bucket> buckets;

    Segment(int capacity) {
      this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Bucket> eldest) {
          return size() > capacity;
        }
      };
    }

    void sweep(long now) {
      for (Iterator<Bucket> it = buckets.values().iterator(); it.hasNext(); ) {
        Bucket bucket = it.next();
        bucket.refill(now);
        if (bucket.tokens >= burst) {
          it.remove();
        }
      }
    }
  }

  /** An IPv4 address, or the /64 prefix of an IPv6 address (an IPv4-mapped IPv6 address is its IPv4 one). */
  private record Key(boolean v6, long bits) {
    static Key of(InetAddress address) {
      byte[] b = address.getAddress();
      if (address instanceof Inet4Address) {
        return new Key(false, ((b[0] & 0xFFL) << 24) | ((b[1] & 0xFFL) << 16) | ((b[2] & 0xFFL) << 8) | (b[3] & 0xFFL));
      }
      if (!(address instanceof Inet6Address)) {
        throw new IllegalArgumentException("address: " + address);
      }
      long prefix = 0;
      for (int i = 0; i < 8; i++) {
        prefix = (prefix << 8) | (b[i] & 0xFFL);
      }
      return new Key(true, prefix);
    }
  }
}
