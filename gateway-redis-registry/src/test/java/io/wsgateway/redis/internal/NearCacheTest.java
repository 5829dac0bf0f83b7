package io.wsgateway.redis.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The near cache's rules for what may be cached, without Redis. */
class NearCacheTest {

  private static final Map<String, String> ENTRIES = Map.of("c1", "gw-1:e1");

  private static NearCache tracking(int maxEntries) {
    NearCache cache = new NearCache(maxEntries);
    cache.trackingOn();
    return cache;
  }

  @Test
  @DisplayName("a reply is cached and answers the next lookup")
  void cachesReply() {
    NearCache cache = tracking(10);
    assertNull(cache.get("u:a"));
    NearCache.Pending read = cache.beginRead("u:a");
    cache.complete("u:a", read, ENTRIES);
    assertEquals(ENTRIES, cache.get("u:a"));
    assertEquals(1, cache.hits());
  }

  @Test
  @DisplayName("an invalidation while the read is in flight keeps its reply out of the cache")
  void invalidatedWhileReading() {
    NearCache cache = tracking(10);
    NearCache.Pending read = cache.beginRead("u:a");
    cache.invalidate("u:a");
    cache.complete("u:a", read, ENTRIES);
    assertNull(cache.get("u:a"));
  }

  @Test
  @DisplayName("a read issued before the connection dropped is not cached after it, nor is anything while tracking is off")
  void trackingLost() {
    NearCache cache = tracking(10);
    NearCache.Pending read = cache.beginRead("u:a");
    cache.trackingLost();
    assertNull(cache.beginRead("u:b"));
    cache.complete("u:a", read, ENTRIES);
    assertNull(cache.get("u:a"));
    cache.trackingOn();
    NearCache.Pending again = cache.beginRead("u:a");
    assertNotNull(again);
    // Even a reply of the old read arriving late does not replace the new placeholder.
    cache.complete("u:a", read, Map.of());
    cache.complete("u:a", again, ENTRIES);
    assertEquals(ENTRIES, cache.get("u:a"));
  }

  @Test
  @DisplayName("a second read of a key already in flight is not cached twice")
  void oneReadPerKey() {
    NearCache cache = tracking(10);
    NearCache.Pending first = cache.beginRead("u:a");
    assertNull(cache.beginRead("u:a"));
    cache.abandon("u:a", first);
    assertNotNull(cache.beginRead("u:a"));
  }

  @Test
  @DisplayName("never holds more than its bound")
  void bounded() {
    NearCache cache = tracking(3);
    for (int i = 0; i < 100; i++) {
      NearCache.Pending read = cache.beginRead("u:" + i);
      cache.complete("u:" + i, read, ENTRIES);
    }
    assertTrue(cache.size() <= 3, "size " + cache.size());
  }
}
