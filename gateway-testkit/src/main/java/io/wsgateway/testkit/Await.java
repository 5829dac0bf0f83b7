package io.wsgateway.testkit;

import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waits in tests: polls a condition against a deadline and fails with the last value seen, or waits
 * for a {@link CompletionStage} to succeed or fail within a bound.
 *
 * <p>Tests use it instead of fixed sleeps: a fast implementation passes at once, a slow one gets the
 * whole deadline, and a failure says what was observed. Stateless; call from any thread. Its methods
 * block the calling (test) thread, never a thread of the implementation under test.
 */
public final class Await {

  // Short enough that a fast implementation is not slowed down, long enough that polling a remote
  // store (a Redis round trip per sample) does not load it.
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private Await() {}

  /**
   * Samples {@code value} until {@code condition} holds and returns that sample. A sample that throws
   * a {@link RuntimeException} counts as not yet (a store may be briefly unreachable while a test
   * waits for it to recover); the last such exception is reported.
   *
   * @throws AssertionError naming {@code what}, the last value seen and the last failure, if any,
   *     once {@code timeout} has passed
   */
  public static <T> T until(
      Duration timeout, String what, Supplier<T> value, Predicate<? super T> condition) {
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
                "timed out after " + timeout + " waiting for " + what + "; last value: " + last
                    + (lastFailure == null ? "" : "; last failure: " + lastFailure));
        if (lastFailure != null) {
          error.initCause(lastFailure);
        }
        throw error;
      }
      // Parking between samples is not a fixed sleep: the deadline, not the pause, bounds the wait.
      LockSupport.parkNanos(POLL_NANOS);
    }
  }

  /** Polls until {@code condition} is true; see {@link #until(Duration, String, Supplier, Predicate)}. */
  public static void until(Duration timeout, String what, BooleanSupplier condition) {
    until(timeout, what, condition::getAsBoolean, Boolean::booleanValue);
  }

  /**
   * Waits for {@code stage} to complete normally and returns its value.
   *
   * @throws AssertionError if it fails (with the failure as cause) or does not complete in time
   */
  public static <T> T success(Duration timeout, String what, CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError(what + " failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError(what + " did not complete within " + timeout, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for " + what, e);
    }
  }

  /**
   * Waits for {@code stage} to fail and returns its cause, unwrapped from completion wrappers.
   *
   * @throws AssertionError if it completes normally or does not complete in time
   */
  public static Throwable failure(Duration timeout, String what, CompletionStage<?> stage) {
    Object value;
    try {
      value = stage.toCompletableFuture().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      return unwrap(e.getCause());
    } catch (CompletionException e) {
      return unwrap(e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError(what + " neither failed nor succeeded within " + timeout
          + " (an SPI implementation must never leave a stage hanging)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for " + what, e);
    }
    throw new AssertionError(what + " was expected to fail but completed with " + value);
  }

  /** Strips {@link CompletionException} and {@link ExecutionException} wrappers. */
  public static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
