package io.wsgateway.chaos.history;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The run's history: events appended by every observer (client event loops, the nemesis, the backend
 * publisher), stamped on one monotonic clock. Thread-safe; appending takes a short lock.
 */
public final class History {

  private final long startNanos;
  private final List<Event> events = new ArrayList<>(); // guarded by this
  private final AtomicLong deliveries = new AtomicLong();
  private volatile long lastDeliveryAt;

  /** A history whose clock starts now. */
  public History() {
    this.startNanos = System.nanoTime();
  }

  /** Nanoseconds since the run started: the {@link Event#at()} of an event recorded now. */
  public long now() {
    return System.nanoTime() - startNanos;
  }

  /** Appends an event. */
  public void add(Event event) {
    if (event instanceof Event.Deliver d) {
      deliveries.incrementAndGet();
      lastDeliveryAt = d.at();
    }
    synchronized (this) {
      events.add(event);
    }
  }

  /** A copy of the events so far, in the order they were appended. */
  public synchronized List<Event> snapshot() {
    return new ArrayList<>(events);
  }

  /** Deliveries recorded so far. */
  public long deliveries() {
    return deliveries.get();
  }

  /** {@link Event#at()} of the last delivery, 0 if none. */
  public long lastDeliveryAt() {
    return lastDeliveryAt;
  }

  /** {@code nanos} since the start as seconds with millisecond precision, e.g. {@code 12.345s}. */
  public static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.3fs", nanos / 1e9);
  }
}
