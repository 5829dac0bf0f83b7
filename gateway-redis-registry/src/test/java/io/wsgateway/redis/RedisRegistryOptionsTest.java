package io.wsgateway.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RedisRegistryOptionsTest {

  @Test
  @DisplayName("defaults are the documented constants")
  void defaults() {
    RedisRegistryOptions o = RedisRegistryOptions.defaults();
    assertEquals(RedisRegistryOptions.DEFAULT_URI, o.uri());
    assertEquals("wsgw:", o.keyPrefix());
    assertEquals(Duration.ofSeconds(2), o.heartbeatInterval());
    assertEquals(Duration.ofSeconds(6), o.heartbeatTtl());
    assertEquals(Duration.ofSeconds(1), o.commandTimeout());
    assertFalse(o.cluster());
    assertTrue(o.scheduler().isEmpty());
    assertEquals(100_000, o.nearCacheMaxEntries());
  }

  @Test
  @DisplayName("toBuilder keeps every field")
  void toBuilderRoundTrips() {
    RedisRegistryOptions o = RedisRegistryOptions.builder().uri("rediss://h:6380").cluster(true)
        .keyPrefix("x:").heartbeatInterval(Duration.ofSeconds(1)).heartbeatTtl(Duration.ofSeconds(3))
        .commandTimeout(Duration.ofMillis(200)).sweepInterval(Duration.ofSeconds(5))
        .resyncBatchSize(10).maxPendingCommands(20).nearCacheMaxEntries(7).build();
    assertEquals(o.toString(), o.toBuilder().build().toString());
    assertEquals(7, o.toBuilder().build().nearCacheMaxEntries());
  }

  @Test
  @DisplayName("a negative near-cache size is rejected; 0 turns the cache off")
  void nearCacheSize() {
    assertThrows(IllegalArgumentException.class, () -> RedisRegistryOptions.builder().nearCacheMaxEntries(-1));
    assertEquals(0, RedisRegistryOptions.builder().nearCacheMaxEntries(0).build().nearCacheMaxEntries());
  }

  @Test
  @DisplayName("toString prints every field and masks the password")
  void toStringMasksPassword() {
    String s = RedisRegistryOptions.builder().uri("redis://user:s3cret@host:6379/0").build().toString();
    assertFalse(s.contains("s3cret"), s);
    assertTrue(s.contains("uri=redis://user:****@host:6379/0"), s);
    for (String field : new String[] {"cluster=", "keyPrefix=", "heartbeatInterval=", "heartbeatTtl=",
        "commandTimeout=", "connectTimeout=", "sweepInterval=", "maxReconnectDelay=",
        "resyncBatchSize=", "maxPendingCommands=", "scheduler="}) {
      assertTrue(s.contains(field), field + " in " + s);
    }
    assertFalse(RedisRegistryOptions.builder().uri("redis://onlypass@host").build().toString()
        .contains("onlypass"));
  }

  @Test
  @DisplayName("setters reject invalid values with the value and the expectation")
  void validation() {
    assertEquals("heartbeatInterval: PT0S (expected: > 0)", assertThrows(IllegalArgumentException.class,
        () -> RedisRegistryOptions.builder().heartbeatInterval(Duration.ZERO)).getMessage());
    assertEquals("resyncBatchSize: 0 (expected: > 0)", assertThrows(IllegalArgumentException.class,
        () -> RedisRegistryOptions.builder().resyncBatchSize(0)).getMessage());
    assertEquals("uri: http://x (expected: redis://, rediss:// or redis-sentinel://)",
        assertThrows(IllegalArgumentException.class,
            () -> RedisRegistryOptions.builder().uri("http://x")).getMessage());
    assertEquals("keyPrefix: {a} (expected: no '{' or '}'; the registry sets hash tags)",
        assertThrows(IllegalArgumentException.class,
            () -> RedisRegistryOptions.builder().keyPrefix("{a}")).getMessage());
    assertEquals("heartbeatTtl: PT1S (expected: > heartbeatInterval PT2S)",
        assertThrows(IllegalArgumentException.class,
            () -> RedisRegistryOptions.builder().heartbeatTtl(Duration.ofSeconds(1)).build()).getMessage());
    assertEquals("uri", assertThrows(NullPointerException.class,
        () -> RedisRegistryOptions.builder().uri(null)).getMessage());
  }
}
