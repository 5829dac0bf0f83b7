package io.wsgateway.redis.internal;

import io.lettuce.core.api.push.PushListener;
import io.lettuce.core.api.push.PushMessage;
import io.lettuce.core.codec.StringCodec;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * User hashes read through the registry's connection, kept until Redis says they changed.
 *
 * <p>Redis client tracking (RESP3, default mode) remembers which keys this connection read and sends
 * an {@code invalidate} push on that same connection when one of them is modified, deleted or
 * expires. Redis sends a reply before the push for a later change of the key it read, and Lettuce
 * hands both to us on the connection's one I/O thread in that order; so a value may be cached when its
 * reply arrives unless an invalidation for its key came in while the read was outstanding. A read
 * in flight is marked by a {@link Pending} placeholder that an invalidation removes; the reply then
 * replaces only its own placeholder.
 *
 * <p>Whatever breaks the chain (the connection dropped, tracking not yet re-enabled after a
 * reconnect, a {@code null} invalidation after FLUSHALL) clears everything and bumps the generation,
 * so no read issued before it is cached after it. The cache never answers while tracking is off.
 * Bounded: at {@code maxEntries} a sixteenth of the entries, arbitrary ones, make room.
 */
final class NearCache implements PushListener {

  private final int maxEntries;
  private final Map<String, Object> entries = new ConcurrentHashMap<>();
  private final AtomicLong generation = new AtomicLong();
  private volatile boolean tracking;

  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder invalidations = new LongAdder();

  NearCache(int maxEntries) {
    this.maxEntries = maxEntries;
  }

  /** A read in flight for one key: the entry's placeholder until the reply arrives. */
  static final class Pending {
    final long generation;

    Pending(long generation) {
      this.generation = generation;
    }
  }

  /** The cached hash of {@code key}, or null if it must be read from Redis. */
  @SuppressWarnings("unchecked")
  Map<String, String> get(String key) {
    if (!tracking) {
      return null;
    }
    Object value = entries.get(key);
    if (value instanceof Map<?, ?> map) {
      hits.increment();
      return (Map<String, String>) map;
    }
    misses.increment();
    return null;
  }

  /**
   * Marks a read of {@code key} about to be issued; null if its reply must not be cached (tracking
   * off, or another read of the key already pending).
   */
  Pending beginRead(String key) {
    if (!tracking) {
      return null;
    }
    if (entries.size() >= maxEntries) {
      evictSome();
    }
    Pending pending = new Pending(generation.get());
    return entries.putIfAbsent(key, pending) == null ? pending : null;
  }

  /**
   * Frees a sixteenth of the bound in one pass. An iterator starts at the front of the table, past
   * the bins earlier evictions emptied: one entry per miss would walk that stretch on every miss of
   * a full cache, a batch walks it once per many.
   */
  private void evictSome() {
    int toFree = Math.max(1, maxEntries / 16);
    Iterator<String> it = entries.keySet().iterator();
    while (toFree-- > 0 && it.hasNext()) {
      it.next();
      it.remove();
    }
  }

  /** The reply of {@code pending}'s read: cached unless invalidated meanwhile. */
  void complete(String key, Pending pending, Map<String, String> value) {
    if (pending.generation != generation.get()) {
      entries.remove(key, pending);
      return;
    }
    if (entries.replace(key, pending, value) && pending.generation != generation.get()) {
      // Tracking was lost between the check and the replace.
      entries.remove(key, value);
    }
  }

  /** The read of {@code pending} failed: nothing to cache. */
  void abandon(String key, Pending pending) {
    entries.remove(key, pending);
  }

  /** Drops {@code key}: this client just changed it, or Redis said another did. */
  void invalidate(String key) {
    entries.remove(key);
  }

  /** The connection dropped: what Redis would have told us since is lost. */
  void trackingLost() {
    tracking = false;
    forgetAll();
  }

  /** Redis tracks this connection's reads (again): reads from now on may be cached. */
  void trackingOn() {
    forgetAll();
    tracking = true;
  }

  /** Drops every entry, and every read in flight from being cached when its reply comes. */
  private void forgetAll() {
    generation.incrementAndGet();
    entries.clear();
  }

  boolean tracking() {
    return tracking;
  }

  long hits() {
    return hits.sum();
  }

  long misses() {
    return misses.sum();
  }

  long invalidations() {
    return invalidations.sum();
  }

  int size() {
    int n = 0;
    for (Object v : entries.values()) {
      if (v instanceof Map<?, ?>) {
        n++;
      }
    }
    return n;
  }

  @Override
  public void onPushMessage(PushMessage message) {
    if (!"invalidate".equals(message.getType())) {
      return;
    }
    List<Object> content = message.getContent(StringCodec.UTF8::decodeKey);
    Object keys = content.size() > 1 ? content.get(1) : null;
    if (keys instanceof List<?> list) {
      for (Object key : list) {
        invalidations.increment();
        entries.remove(String.valueOf(key));
      }
    } else {
      // null: the whole database was flushed (or Redis gave up tracking); nothing cached holds.
      invalidations.increment();
      forgetAll();
    }
  }
}
