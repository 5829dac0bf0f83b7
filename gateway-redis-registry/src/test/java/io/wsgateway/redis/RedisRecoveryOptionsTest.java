package io.wsgateway.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.recovery.InMemoryRecoveryStore;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RedisRecoveryOptionsTest {

  @Test
  @DisplayName("defaults are the documented constants, the same as the in-memory store's where they overlap")
  void defaults() {
    RedisRecoveryOptions o = RedisRecoveryOptions.defaults();
    assertEquals("redis://127.0.0.1:6379", o.uri());
    assertEquals("wsgw:", o.keyPrefix());
    assertEquals(Duration.ofSeconds(120), o.window());
    assertEquals(1_000, o.maxMessages());
    assertEquals(1024 * 1024, o.maxBytes());
    assertEquals(32, o.maxSessionsPerUser());
    assertEquals(1_000, o.topicMaxMessages());
    assertEquals(1024 * 1024, o.topicMaxBytes());
    assertEquals(Duration.ofSeconds(120), o.topicHistoryTtl());
    assertEquals(Duration.ofHours(24), o.attachedTtl());
    assertEquals(Duration.ofSeconds(1), o.commandTimeout());
    assertEquals(Duration.ofSeconds(2), o.connectTimeout());
    assertEquals(100_000, o.maxPendingCommands());

    assertEquals(InMemoryRecoveryStore.DEFAULT_WINDOW, RedisRecoveryOptions.DEFAULT_WINDOW);
    assertEquals(InMemoryRecoveryStore.DEFAULT_MAX_MESSAGES, RedisRecoveryOptions.DEFAULT_MAX_MESSAGES);
    assertEquals(InMemoryRecoveryStore.DEFAULT_MAX_BYTES, RedisRecoveryOptions.DEFAULT_MAX_BYTES);
    assertEquals(InMemoryRecoveryStore.DEFAULT_MAX_SESSIONS_PER_USER, RedisRecoveryOptions.DEFAULT_MAX_SESSIONS_PER_USER);
    assertEquals(InMemoryRecoveryStore.DEFAULT_TOPIC_MAX_MESSAGES, RedisRecoveryOptions.DEFAULT_TOPIC_MAX_MESSAGES);
    assertEquals(InMemoryRecoveryStore.DEFAULT_TOPIC_MAX_BYTES, RedisRecoveryOptions.DEFAULT_TOPIC_MAX_BYTES);
    assertEquals(InMemoryRecoveryStore.DEFAULT_TOPIC_HISTORY_TTL, RedisRecoveryOptions.DEFAULT_TOPIC_HISTORY_TTL);
  }

  @Test
  @DisplayName("setters reject invalid values at once, naming the field and what was expected")
  void validation() {
    RedisRecoveryOptions.Builder b = RedisRecoveryOptions.builder();
    assertEquals("maxMessages: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.maxMessages(0)).getMessage());
    assertEquals("maxBytes: -1 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.maxBytes(-1)).getMessage());
    assertEquals("maxSessionsPerUser: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.maxSessionsPerUser(0)).getMessage());
    assertEquals("topicMaxMessages: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.topicMaxMessages(0)).getMessage());
    assertEquals("topicMaxBytes: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.topicMaxBytes(0)).getMessage());
    assertEquals("maxPendingCommands: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.maxPendingCommands(0)).getMessage());
    assertEquals("window: PT0S (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.window(Duration.ZERO)).getMessage());
    assertEquals("topicHistoryTtl: PT-1S (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.topicHistoryTtl(Duration.ofSeconds(-1))).getMessage());
    assertEquals("attachedTtl: PT0.0000001S (expected: >= 1 ms)",
        assertThrows(IllegalArgumentException.class, () -> b.attachedTtl(Duration.ofNanos(100))).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.keyPrefix("a{b}"));
    assertThrows(IllegalArgumentException.class, () -> b.uri("http://x"));
    assertEquals("commandTimeout",
        assertThrows(NullPointerException.class, () -> b.commandTimeout(null)).getMessage());
  }

  @Test
  @DisplayName("toBuilder keeps every field, and toString prints them all with the password masked")
  void toBuilderAndToString() {
    RedisRecoveryOptions o = RedisRecoveryOptions.builder()
        .uri("redis://user:secret@redis.example:6380")
        .window(Duration.ofSeconds(30))
        .maxMessages(50)
        .maxBytes(4096)
        .maxSessionsPerUser(4)
        .topicMaxMessages(60)
        .topicMaxBytes(8192)
        .topicHistoryTtl(Duration.ofSeconds(10))
        .build();
    RedisRecoveryOptions copy = o.toBuilder().build();
    assertEquals(o.toString(), copy.toString());
    String s = o.toString();
    assertFalse(s.contains("secret"), s);
    assertEquals("RedisRecoveryOptions{uri=redis://user:****@redis.example:6380, keyPrefix=wsgw:, window=PT30S,"
        + " maxMessages=50, maxBytes=4096, maxSessionsPerUser=4, topicMaxMessages=60, topicMaxBytes=8192,"
        + " topicHistoryTtl=PT10S, attachedTtl=PT24H, commandTimeout=PT1S, connectTimeout=PT2S,"
        + " maxPendingCommands=100000}", s);
    assertTrue(copy.maxBytes() == 4096 && copy.topicHistoryTtl().equals(Duration.ofSeconds(10)), copy.toString());
  }
}
