package io.wsgateway.netty.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.netty.GatewayOptions;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Pure logic, with time moved by hand. */
@DisplayName("A connection's inbound limits")
class InboundLimitsTest {

  static final long SECOND = 1_000_000_000L;
  static final long T0 = 123_456_789L;

  @Test
  @DisplayName("frames: a burst of the rate, then one more per 1/rate seconds")
  void frames() {
    InboundLimits limits = new InboundLimits(GatewayOptions.builder().clientMessagesPerSecond(10).build(), T0);
    for (int i = 0; i < 10; i++) {
      assertTrue(limits.takeFrame(T0), "frame " + i);
    }
    assertFalse(limits.takeFrame(T0));
    assertFalse(limits.takeFrame(T0 + SECOND / 20));
    assertTrue(limits.takeFrame(T0 + SECOND / 10));
    assertFalse(limits.takeFrame(T0 + SECOND / 10));
    assertEquals("more than 10 frames per second", limits.frameLimitMessage());
  }

  @Test
  @DisplayName("refreshes: a burst, then one per interval, never more than the burst after a pause")
  void refreshes() {
    InboundLimits limits = new InboundLimits(
        GatewayOptions.builder().refreshLimit(3, Duration.ofSeconds(2)).build(), T0);
    for (int i = 0; i < 3; i++) {
      assertTrue(limits.takeRefresh(T0), "refresh " + i);
    }
    assertFalse(limits.takeRefresh(T0 + SECOND));
    assertTrue(limits.takeRefresh(T0 + 2 * SECOND));
    assertFalse(limits.takeRefresh(T0 + 2 * SECOND));
    long later = T0 + 3600 * SECOND;
    for (int i = 0; i < 3; i++) {
      assertTrue(limits.takeRefresh(later), "refresh after a pause " + i);
    }
    assertFalse(limits.takeRefresh(later));
    assertEquals("more than 3 refreshes (one more per PT2S)", limits.refreshLimitMessage());
  }

  @Test
  @DisplayName("refreshes and frames draw on separate buckets")
  void separateBuckets() {
    InboundLimits limits = new InboundLimits(
        GatewayOptions.builder().clientMessagesPerSecond(1000).refreshLimit(1, Duration.ofSeconds(1)).build(), T0);
    assertTrue(limits.takeRefresh(T0));
    assertFalse(limits.takeRefresh(T0));
    assertTrue(limits.takeFrame(T0));
  }

  @Test
  @DisplayName("protocol errors: one more than the limit within the window is reported; a new window starts afresh")
  void protocolErrors() {
    InboundLimits limits = new InboundLimits(
        GatewayOptions.builder().protocolErrorLimit(3, Duration.ofSeconds(10)).build(), T0);
    for (int i = 0; i < 3; i++) {
      assertFalse(limits.protocolError(T0 + i * SECOND), "error " + i);
    }
    assertTrue(limits.protocolError(T0 + 9 * SECOND));

    InboundLimits spread = new InboundLimits(
        GatewayOptions.builder().protocolErrorLimit(3, Duration.ofSeconds(10)).build(), T0);
    for (int i = 0; i < 3; i++) {
      assertFalse(spread.protocolError(T0 + i * SECOND));
    }
    // The window of the first error has passed: this one opens a new window.
    assertFalse(spread.protocolError(T0 + 10 * SECOND));
    assertFalse(spread.protocolError(T0 + 11 * SECOND));
  }

  @Test
  @DisplayName("the options reject limits of zero and print themselves")
  void options() {
    var b = GatewayOptions.builder();
    assertEquals("maxProtocolErrors: 0 (expected: > 0)",
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> b.protocolErrorLimit(0, Duration.ofSeconds(1))).getMessage());
    assertEquals("refreshInterval: PT0S (expected: > 0)",
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> b.refreshLimit(1, Duration.ZERO)).getMessage());
    String text = GatewayOptions.defaults().toString();
    assertTrue(text.contains("maxProtocolErrors=32, protocolErrorWindow=PT10S, refreshBurst=3, refreshInterval=PT1S"),
        text);
  }
}
