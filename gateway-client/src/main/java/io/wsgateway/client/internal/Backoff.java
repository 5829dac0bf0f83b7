package io.wsgateway.client.internal;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with full jitter: attempt {@code n} (from 0) waits a uniformly random time in
 * {@code [0, min(max, base * 2^n)]}. Full jitter spreads a crowd of clients that lost one instance
 * over the whole window instead of bunching them at its end. Immutable.
 */
public final class Backoff {

  private final long baseMillis;
  private final long maxMillis;

  public Backoff(Duration base, Duration max) {
    this.baseMillis = Math.max(1, base.toMillis());
    this.maxMillis = Math.max(baseMillis, max.toMillis());
  }

  /** The upper bound of the wait before attempt {@code attempt}: {@code min(max, base * 2^attempt)}. */
  public long ceilingMillis(int attempt) {
    // Shifting past 62 bits would overflow; by then the cap has long been reached.
    if (attempt >= 62 || baseMillis > (maxMillis >> Math.min(attempt, 62))) {
      return maxMillis;
    }
    return Math.min(maxMillis, baseMillis << attempt);
  }

  /** The wait before attempt {@code attempt}; {@code random} yields values in {@code [0, 1)}. */
  public long delayMillis(int attempt, DoubleSupplier random) {
    return (long) (random.getAsDouble() * (ceilingMillis(attempt) + 1));
  }
}
