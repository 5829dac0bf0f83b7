package io.wsgateway.netty.testing;

import java.time.Duration;
import java.util.function.Supplier;

/** Polls a condition until a deadline; fails with the last value seen. Never a fixed sleep. */
public final class Await {

  /** The default deadline of waits in tests: generous, since CI shares two cores. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private Await() {}

  /** Waits until {@code condition} holds, polling every few milliseconds. */
  public static void until(String what, Supplier<Boolean> condition) {
    until(what, condition, DEFAULT_TIMEOUT);
  }

  public static void until(String what, Supplier<Boolean> condition, Duration timeout) {
    value(what, () -> Boolean.TRUE.equals(condition.get()) ? Boolean.TRUE : null, timeout);
  }

  /** Waits until {@code probe} returns non-null, and returns it. */
  public static <T> T value(String what, Supplier<T> probe, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    T last = null;
    while (true) {
      last = probe.get();
      if (last != null) {
        return last;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      // Park briefly between polls; bounded by the deadline above, not a guess at timing.
      java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
    }
  }
}
