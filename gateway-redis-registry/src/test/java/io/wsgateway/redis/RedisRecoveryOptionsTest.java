package io.wsgateway.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RedisRecoveryOptionsTest {

  @Test
  @DisplayName("defaults are the documented constants")
  void defaults() {
    RedisRecoveryOptions o = RedisRecoveryOptions.defaults();
    assertEquals("redis://127.0.0.1:6379", o.uri());
    assertEquals("wsgw:", o.keyPrefix());
    assertEquals(Duration.ofSeconds(120), o.window());
    assertEquals(1_000, o.maxMessages());
    assertEquals(Duration.ofHours(24), o.attachedTtl());
    assertEquals(Duration.ofSeconds(1), o.commandTimeout());
  }

  @Test
  @DisplayName("setters reject invalid values at once, naming the field and what was expected")
  void validation() {
    RedisRecoveryOptions.Builder b = RedisRecoveryOptions.builder();
    assertEquals("maxMessages: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.maxMessages(0)).getMessage());
    assertEquals("window: PT0S (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.window(Duration.ZERO)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.attachedTtl(Duration.ofSeconds(-1)));
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
        .build();
    RedisRecoveryOptions copy = o.toBuilder().build();
    assertEquals(o.toString(), copy.toString());
    String s = o.toString();
    assertFalse(s.contains("secret"), s);
    assertTrue(s.contains("uri=redis://user:****@redis.example:6380"), s);
    assertTrue(s.contains("window=PT30S") && s.contains("maxMessages=50")
        && s.contains("attachedTtl=PT24H"), s);
  }
}
