package io.wsgateway.netty.internal;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * The order in which one source's messages leave this instance: a connection's sends, or the host's
 * {@code sendToUser} calls. A message is routed in two steps, a lookup (registry or store) and a
 * dispatch (broker submissions); lookups may complete in any order (one goes to Redis while the
 * next is answered by the near cache), so each dispatch waits until every earlier one of the same
 * source has run. Without this a burst to a user not looked up before overtook itself.
 *
 * <p>An explicit queue drained in a loop, not a chain of futures: a chain of a thousand completed
 * stages completes recursively, deep enough to overflow the stack. Thread-safe; usually used from
 * one event loop and drained there or on the thread that completes a lookup.
 */
final class SendOrder {

  private final ArrayDeque<Step<?>> waiting = new ArrayDeque<>();
  /** Whether some thread is running a step now: it runs the following ready ones too. */
  private boolean running;

  /**
   * Runs {@code action} with the outcome of {@code lookup} once it completed and the actions of every
   * step enqueued before have run.
   */
  <T> void then(CompletableFuture<T> lookup, BiConsumer<? super T, ? super Throwable> action) {
    synchronized (this) {
      waiting.add(new Step<>(lookup, action));
    }
    if (lookup.isDone()) {
      runReady();
    } else {
      lookup.whenComplete((v, e) -> runReady());
    }
  }

  private void runReady() {
    while (true) {
      Step<?> step;
      synchronized (this) {
        if (running) {
          return; // the running thread looks at the head again when it is done
        }
        step = waiting.peek();
        if (step == null || !step.lookup.isDone()) {
          return; // the head's own completion runs it
        }
        waiting.poll();
        running = true;
      }
      try {
        step.run();
      } finally {
        synchronized (this) {
          running = false;
        }
      }
    }
  }

  private record Step<T>(CompletableFuture<T> lookup, BiConsumer<? super T, ? super Throwable> action) {
    void run() {
      T value = null;
      Throwable error = null;
      try {
        value = lookup.join();
      } catch (RuntimeException e) {
        error = e.getCause() != null ? e.getCause() : e;
      }
      action.accept(value, error);
    }
  }
}
