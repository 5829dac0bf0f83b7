package io.wsgateway.broker;

import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waits for a condition by polling it against a deadline, and fails with the last value seen.
 *
 * <p>Tests use it instead of fixed sleeps: a fast broker passes at once, a slow one gets the whole
 * deadline, and a failure says what was observed. Stateless; call from any thread.
 */
public final class Await {

  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

  private Await() {}

  /**
   * Polls {@code value} until {@code condition} holds and returns that value.
   *
   * @throws AssertionError naming {@code what} and the last value seen if the deadline passes
   */
  public static <T> T until(Duration timeout, String what, Supplier<T> value, Predicate<? super T> condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      T last = value.get();
      if (condition.test(last)) {
        return last;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; last value: " + last);
      }
      // Parking between polls is not a fixed sleep: the deadline, not the pause, bounds the wait.
      java.util.concurrent.locks.LockSupport.parkNanos(POLL_NANOS);
    }
  }

  /** Polls until {@code condition} is true. */
  public static void until(Duration timeout, String what, java.util.function.BooleanSupplier condition) {
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
          + " (a broker must never leave a stage hanging)", e);
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
