package io.wsgateway;

import java.time.Duration;
import java.util.Objects;

/**
 * How a gateway drains: over what window its clients are told to reconnect, and when the rest are
 * closed. Immutable; build with {@link #builder()} or take {@link #defaults()}.
 */
public final class DrainOptions {

  /** Default window over which reconnect hints are spread uniformly: 10 s (no thundering herd). */
  public static final Duration DEFAULT_RECONNECT_SPREAD = Duration.ofSeconds(10);
  /** Default deadline after which remaining clients are closed with 1001: 30 s. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(30);
  /** Default upper bound of the {@code delay_ms} a client is asked to wait before reconnecting: 1 s. */
  public static final Duration DEFAULT_MAX_CLIENT_DELAY = Duration.ofSeconds(1);

  private final Duration reconnectSpread;
  private final Duration deadline;
  private final Duration maxClientDelay;

  private DrainOptions(Builder b) {
    this.reconnectSpread = b.reconnectSpread;
    this.deadline = b.deadline;
    this.maxClientDelay = b.maxClientDelay;
  }

  public static DrainOptions defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().reconnectSpread(reconnectSpread).deadline(deadline).maxClientDelay(maxClientDelay);
  }

  /** The window over which reconnect hints are spread. */
  public Duration reconnectSpread() {
    return reconnectSpread;
  }

  /** Time from the start of the drain after which remaining clients are closed. */
  public Duration deadline() {
    return deadline;
  }

  /** Upper bound of the random {@code delay_ms} in each reconnect hint. */
  public Duration maxClientDelay() {
    return maxClientDelay;
  }

  @Override
  public String toString() {
    return "DrainOptions{reconnectSpread=" + reconnectSpread + ", deadline=" + deadline + ", maxClientDelay="
        + maxClientDelay + "}";
  }

  /** Builds {@link DrainOptions}. Not thread-safe. */
  public static final class Builder {
    private Duration reconnectSpread = DEFAULT_RECONNECT_SPREAD;
    private Duration deadline = DEFAULT_DEADLINE;
    private Duration maxClientDelay = DEFAULT_MAX_CLIENT_DELAY;

    private Builder() {}

    /** Spread window, >= 0. Default {@link DrainOptions#DEFAULT_RECONNECT_SPREAD} (10 s). */
    public Builder reconnectSpread(Duration spread) {
      this.reconnectSpread = nonNegative("reconnectSpread", spread);
      return this;
    }

    /** Deadline, > 0. Default {@link DrainOptions#DEFAULT_DEADLINE} (30 s). */
    public Builder deadline(Duration deadline) {
      Objects.requireNonNull(deadline, "deadline");
      if (deadline.isZero() || deadline.isNegative()) {
        throw new IllegalArgumentException("deadline: " + deadline + " (expected: > 0)");
      }
      this.deadline = deadline;
      return this;
    }

    /** Client delay bound, >= 0. Default {@link DrainOptions#DEFAULT_MAX_CLIENT_DELAY} (1 s). */
    public Builder maxClientDelay(Duration maxClientDelay) {
      this.maxClientDelay = nonNegative("maxClientDelay", maxClientDelay);
      return this;
    }

    /** @throws IllegalStateException if the deadline is not after the spread window */
    public DrainOptions build() {
      if (deadline.compareTo(reconnectSpread) <= 0) {
        throw new IllegalStateException(
            "deadline: " + deadline + " (expected: > reconnectSpread " + reconnectSpread + ")");
      }
      return new DrainOptions(this);
    }

    private static Duration nonNegative(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isNegative()) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: >= 0)");
      }
      return d;
    }
  }
}
