package io.wsgateway.registry;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waits for a condition by polling it against a deadline, failing with the last value seen; the
 * alternative to fixed sleeps in tests.
 *
 * <p>Blocks the calling (test) thread only.
 */
public final class Polling {

  private static final long PAUSE_NANOS = Duration.ofMillis(20).toNanos();

  private Polling() {}

  /**
   * Samples {@code value} until {@code condition} holds and returns that sample; fails the test
   * with {@code what} and the last sample (or the last exception) once {@code timeout} has passed.
   */
  public static <T> T until(
      String what, Supplier<T> value, Predicate<? super T> condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    T last = null;
    RuntimeException lastFailure = null;
    while (true) {
      try {
        last = value.get();
        lastFailure = null;
        if (condition.test(last)) {
          return last;
        }
      } catch (RuntimeException e) {
        lastFailure = e;
      }
      if (System.nanoTime() - deadline > 0) {
        AssertionError error =
            new AssertionError(
                what + ": not reached within " + timeout + "; last value: " + last
                    + (lastFailure == null ? "" : "; last failure: " + lastFailure));
        if (lastFailure != null) {
          error.initCause(lastFailure);
        }
        throw error;
      }
      // A short park between samples; the deadline, not this pause, bounds the wait.
      LockSupport.parkNanos(PAUSE_NANOS);
    }
  }
}
