package io.wsgateway.netty.internal;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.wsgateway.recovery.StoredMessage;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Writes one numbered stream to a connection strictly in order: a session's direct messages by
 * {@code seq}, or a topic's publications by {@code offset}. The store numbers the messages; they
 * reach the connection in any order (each sender's notifications take their own path), so one that
 * arrives ahead of a gap is held, and when the gap does not close within {@link #GAP_WAIT_MILLIS}
 * (its notification was lost, e.g. its sender's instance died between the append and the notify)
 * or too many are held, the missing ones are read from the store. A number below the next one is a
 * copy and is dropped: numbers make duplicates impossible.
 *
 * <p>Confined to the connection's event loop. Nothing is written before {@link #start}: until then
 * every offer is held (the welcome, or a topic's catch-up, goes first).
 */
final class Resequencer {

  /** How long a message may wait for an earlier one before the earlier ones are read from the store. */
  static final long GAP_WAIT_MILLIS = 250;
  /** Messages held behind a gap before it is filled at once, and the bound of what is held. */
  static final int MAX_HELD = 1024;
  /** Delay before a failed fill is tried again. */
  private static final long RETRY_MILLIS = 500;

  /** Reads what the stream holds after a number. */
  interface Source {
    /**
     * The stream's messages after {@code after}, oldest first.
     *
     * @return a completed fill, or one whose {@code brokenReason} says why the stream cannot
     *     continue right after {@code after} (e.g. {@code "trimmed"})
     */
    CompletionStage<Fill> readAfter(long after);
  }

  /**
   * What a {@link Source} read.
   *
   * @param first the number of {@code messages.get(0)}
   * @param messages the messages
   * @param brokenReason null when they continue the stream; else why they cannot (the next number
   *     written is then the first one held, and the sink is told of the gap)
   */
  record Fill(long first, List<StoredMessage> messages, String brokenReason) {}

  /** Where the stream goes. */
  interface Sink {
    void write(long number, String messageId, byte[] prefix);

    /** Numbers from the last one written up to {@code next} are lost, for {@code reason}. */
    void gap(long next, String reason);

    /** The store could not be read for longer than the sink tolerates; held messages keep growing. */
    void overflow();
  }

  /** A message held behind a gap. */
  record Pending(String messageId, byte[] prefix) {}

  private final EventLoop loop;
  private final Source source;
  private final Sink sink;
  /** The next number to write; meaningful once started. */
  private long next;
  private boolean started;
  private TreeMap<Long, Pending> held;
  private ScheduledFuture<?> timer;
  private boolean filling;
  private boolean closed;

  Resequencer(EventLoop loop, Source source, Sink sink) {
    this.loop = loop;
    this.source = source;
    this.sink = sink;
  }

  /** Starts writing at {@code next}: held messages from there on go out, earlier ones are dropped. */
  void start(long next) {
    this.next = next;
    this.started = true;
    drain();
  }

  boolean started() {
    return started;
  }

  /** The next number to be written (the last written plus one), once started. */
  long next() {
    return next;
  }

  /** Whether nothing is held (every number offered so far was written or dropped). */
  boolean idle() {
    return held == null || held.isEmpty();
  }

  /** One message of the stream. */
  void offer(long number, String messageId, byte[] prefix) {
    if (closed) {
      return;
    }
    if (started && number < next) {
      return; // a copy: this number went out already
    }
    if (started && number == next && idle()) {
      sink.write(number, messageId, prefix);
      next++;
      return;
    }
    if (held == null) {
      held = new TreeMap<>();
    }
    if (held.size() >= 4 * MAX_HELD) {
      // Far more held than a gap fill ever leaves behind (the store has not answered for long, or
      // the stream has not started): the connection goes rather than memory; the client resumes.
      sink.overflow();
      close();
      return;
    }
    held.putIfAbsent(number, new Pending(messageId, prefix));
    if (started) {
      drain();
    }
  }

  /** Writes what is held in order from {@link #next}; arms the gap timer if something waits. */
  private void drain() {
    if (held == null || closed) {
      return;
    }
    Map.Entry<Long, Pending> first;
    while ((first = held.firstEntry()) != null && first.getKey() <= next) {
      held.pollFirstEntry();
      if (first.getKey() == next) {
        sink.write(next, first.getValue().messageId(), first.getValue().prefix());
        next++;
      }
    }
    if (held.isEmpty()) {
      cancelTimer();
    } else if (held.size() >= MAX_HELD) {
      fill();
    } else if (timer == null && !filling) {
      timer = loop.schedule(this::fill, GAP_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  /** Reads the missing numbers from the store. */
  private void fill() {
    cancelTimer();
    if (filling || closed || !started || idle()) {
      return;
    }
    filling = true;
    long after = next - 1;
    source.readAfter(after).whenComplete((fill, error) -> loop.execute(() -> {
      filling = false;
      if (closed) {
        return;
      }
      if (error != null) {
        if (held != null && held.size() > 2 * MAX_HELD) {
          sink.overflow();
          return;
        }
        timer = loop.schedule(this::fill, RETRY_MILLIS, TimeUnit.MILLISECONDS);
        return;
      }
      if (fill.brokenReason() != null) {
        if (next == after + 1 && !idle() && held.firstKey() > next) {
          next = held.firstKey();
          sink.gap(next, fill.brokenReason());
        }
      } else {
        long number = fill.first();
        for (StoredMessage m : fill.messages()) {
          if (number == next) {
            sink.write(number, m.id(), m.frame());
            next++;
          }
          number++;
        }
      }
      drain();
    }));
  }

  private void cancelTimer() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /**
   * Starts over at {@code next} (the stream's numbering was reset): returns what was held, in order,
   * which belonged to the old numbering.
   */
  List<Pending> restart(long next) {
    cancelTimer();
    List<Pending> old = held == null ? List.of() : new java.util.ArrayList<>(held.values());
    held = null;
    this.next = next;
    this.started = true;
    return old;
  }

  /** Stops: nothing more is written or read. */
  void close() {
    closed = true;
    cancelTimer();
    held = null;
  }
}
