package io.wsgateway.netty.internal;

import io.wsgateway.netty.GatewayOptions;

/**
 * What one connection's frames may cost the gateway: a token bucket charged for every inbound frame
 * before it is parsed (control frames included), a much smaller bucket for {@code refresh} (each one
 * verifies a signature), and a count of the protocol errors the client caused in a window.
 *
 * <p>Confined to the connection's event loop. Time is passed in ({@link System#nanoTime()} in
 * production), so tests move it instead of waiting.
 */
final class InboundLimits {

  private final int frameRate;
  private final int refreshBurst;
  private final long refreshIntervalNanos;
  private final int maxErrors;
  private final long errorWindowNanos;

  private double frameTokens;
  private long frameRefilledNanos;
  private double refreshTokens;
  private long refreshRefilledNanos;
  private int errors;
  private long errorWindowStartNanos;

  InboundLimits(GatewayOptions options, long nowNanos) {
    this.frameRate = options.clientMessagesPerSecond();
    this.refreshBurst = options.refreshBurst();
    this.refreshIntervalNanos = options.refreshInterval().toNanos();
    this.maxErrors = options.maxProtocolErrors();
    this.errorWindowNanos = options.protocolErrorWindow().toNanos();
    this.frameTokens = frameRate;
    this.refreshTokens = refreshBurst;
    this.frameRefilledNanos = nowNanos;
    this.refreshRefilledNanos = nowNanos;
  }

  /** Charges one inbound frame; false when the frame rate is exhausted (burst = rate). */
  boolean takeFrame(long nowNanos) {
    frameTokens = Math.min(frameRate, frameTokens + (nowNanos - frameRefilledNanos) * (frameRate / 1e9));
    frameRefilledNanos = nowNanos;
    if (frameTokens < 1) {
      return false;
    }
    frameTokens -= 1;
    return true;
  }

  /** Charges one {@code refresh}; false when the refresh bucket is empty. */
  boolean takeRefresh(long nowNanos) {
    refreshTokens = Math.min(refreshBurst,
        refreshTokens + (nowNanos - refreshRefilledNanos) / (double) refreshIntervalNanos);
    refreshRefilledNanos = nowNanos;
    if (refreshTokens < 1) {
      return false;
    }
    refreshTokens -= 1;
    return true;
  }

  /**
   * Counts one protocol error; true when it is one more than the limit allows within the window. A
   * window starts at the first error after the previous one ended (a fixed window: cheap, and a client
   * that keeps failing is caught in its first window anyway).
   */
  boolean protocolError(long nowNanos) {
    if (errors == 0 || nowNanos - errorWindowStartNanos >= errorWindowNanos) {
      errorWindowStartNanos = nowNanos;
      errors = 0;
    }
    errors++;
    return errors > maxErrors;
  }

  /** The message of a {@code rate_limited} answer to a frame. */
  String frameLimitMessage() {
    return "more than " + frameRate + " frames per second";
  }

  /** The message of a {@code rate_limited} answer to a {@code refresh}. */
  String refreshLimitMessage() {
    return "more than " + refreshBurst + " refreshes (one more per " + java.time.Duration.ofNanos(refreshIntervalNanos)
        + ")";
  }
}
