package io.wsgateway.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Backoff")
class BackoffTest {

  @Test
  @DisplayName("doubles its ceiling per attempt from the minimum up to the maximum, without overflow")
  void ceiling() {
    Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10));
    assertEquals(100, b.ceilingMillis(0));
    assertEquals(200, b.ceilingMillis(1));
    assertEquals(6_400, b.ceilingMillis(6));
    assertEquals(10_000, b.ceilingMillis(7));
    assertEquals(10_000, b.ceilingMillis(61));
    assertEquals(10_000, b.ceilingMillis(Integer.MAX_VALUE));
  }

  @Test
  @DisplayName("waits a uniformly random time between zero and the ceiling (full jitter)")
  void fullJitter() {
    Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10));
    assertEquals(0, b.delayMillis(3, () -> 0.0));
    assertEquals(800, b.delayMillis(3, () -> 0.999_999_9));
    Random random = new Random(42);
    long min = Long.MAX_VALUE;
    long max = 0;
    for (int i = 0; i < 10_000; i++) {
      long d = b.delayMillis(2, random::nextDouble);
      assertTrue(d >= 0 && d <= 400, "delay " + d);
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    assertTrue(min < 20 && max > 380, "spread over the window: " + min + ".." + max);
  }
}
