package io.wsgateway.chaos.env;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Polls a condition against a deadline: the deadline, not the pause between samples, bounds the wait. */
public final class Poll {

  private Poll() {}

  /**
   * Samples {@code condition} every {@code every} until it holds (returns {@code true}) or {@code
   * timeout} passes or the thread is interrupted (returns {@code false}; the interrupt stays set).
   */
  public static boolean until(Duration timeout, Duration every, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (condition.getAsBoolean()) {
        return true;
      }
      if (System.nanoTime() - deadline > 0 || Thread.currentThread().isInterrupted()) {
        return false;
      }
      LockSupport.parkNanos(every.toNanos());
    }
  }
}
