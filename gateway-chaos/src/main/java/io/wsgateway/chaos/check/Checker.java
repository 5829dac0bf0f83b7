package io.wsgateway.chaos.check;

import io.wsgateway.chaos.history.Event;
import io.wsgateway.chaos.history.History;
import io.wsgateway.chaos.history.Outcome;
import io.wsgateway.chaos.history.StreamKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Checks a history: every acknowledged message reached each of its recipients, once, and in its
 * stream's order. Pure logic over the {@link Event}s; immutable and thread-safe.
 *
 * <p>The rules (docs/chaos.md states them for readers):
 * <ul>
 *   <li><b>Due.</b> A direct or ingress message is due to its target user. A topic message is due to
 *       every user whose subscription to the topic was in force when it was published: the harness's
 *       {@code subscribe} was acked before the publish was invoked, and no session reset came between.
 *   <li><b>Lost</b> (violation). Acknowledged, due, never delivered to that user, and not excused.
 *   <li><b>Excused</b> ("lost after a signal", allowed). An undelivered message {@code m} due to user
 *       {@code u} is excused iff {@code u} received a loss signal {@code s} (resume_failed, or a gap)
 *       with {@code invoke(m) < at(s)}, and {@code u} spent less than the horizon {@code H} connected
 *       (in any session) during {@code [invoke(m), at(s))}. In words: the client was told its history
 *       was lost before it had had {@code H} of connected time in which the message should have
 *       arrived.
 *   <li><b>Duplicate</b> (violation). A message delivered to the same user more than once, in one
 *       session or across sessions.
 *   <li><b>Reordered</b> (violation). A delivery whose number is below one already delivered in the
 *       same stream (kind, source, target) to the same user.
 *   <li><b>Misdelivered</b> (violation). A direct or ingress message delivered to another user than
 *       its target, a topic message to a user that never subscribed to it, or a payload that is no
 *       message of this run.
 *   <li>Not acknowledged (failed or unknown) and not delivered is allowed and counted; so is not
 *       acknowledged yet delivered.
 * </ul>
 */
public final class Checker {

  /**
   * Default horizon {@code H}: {@value #DEFAULT_HORIZON_SECONDS} s of connected time within which a due
   * message must arrive unless a loss signal comes first. It covers the slowest legitimate path: a
   * message queued for a crashed instance waits {@code orphanAfter} (10 s) after the registry's
   * liveness TTL (6 s) before a live instance re-routes it, plus a publish timeout (5 s).
   */
  public static final long DEFAULT_HORIZON_SECONDS = 30;
  /** {@link #DEFAULT_HORIZON_SECONDS} as a duration. */
  public static final Duration DEFAULT_HORIZON = Duration.ofSeconds(DEFAULT_HORIZON_SECONDS);

  /** Excused losses kept for the report (they are all counted). */
  static final int MAX_EXCUSED_KEPT = 1_000;

  private final long horizonNanos;

  /** A checker with the {@link #DEFAULT_HORIZON}. */
  public Checker() {
    this(DEFAULT_HORIZON);
  }

  /** A checker with the given horizon {@code H} (see the class comment). */
  public Checker(Duration horizon) {
    Objects.requireNonNull(horizon, "horizon");
    if (horizon.isNegative() || horizon.isZero()) {
      throw new IllegalArgumentException("horizon: " + horizon + " (expected: > 0)");
    }
    this.horizonNanos = horizon.toNanos();
  }

  /** The horizon {@code H}. */
  public Duration horizon() {
    return Duration.ofNanos(horizonNanos);
  }

  /** Checks a whole history. */
  public CheckReport check(List<Event> history) {
    Timelines t = new Timelines(history);
    Map<StreamKind, StreamStats> stats = new EnumMap<>(StreamKind.class);
    for (StreamKind k : StreamKind.values()) {
      stats.put(k, new StreamStats());
    }
    List<Violation> violations = new ArrayList<>();
    long unreadable = 0;
    List<String> excused = new ArrayList<>();
    // Which users each message was due to, to tell misdelivered from merely not-yet-subscribed.
    Map<String, Set<String>> dueTo = new HashMap<>();

    for (Event.Invoke m : t.invokes.values()) {
      StreamStats s = stats.get(m.kind());
      s.invoked++;
      Event.Complete c = t.completes.get(m.id());
      Outcome outcome = c == null ? Outcome.UNKNOWN : c.outcome();
      switch (outcome) {
        case ACKED -> s.acked++;
        case FAILED -> s.failed++;
        case UNKNOWN -> s.unknown++;
      }
      for (String recipient : recipients(t, m)) {
        dueTo.computeIfAbsent(m.id(), k -> new HashSet<>()).add(recipient);
        s.due++;
        Timelines.User u = t.user(recipient);
        List<Event.Deliver> got = u.byId.get(m.id());
        if (got != null) {
          s.delivered++;
          if (outcome != Outcome.ACKED) {
            s.unackedDelivered++;
          }
          continue;
        }
        if (outcome != Outcome.ACKED) {
          s.unackedUndelivered++;
          continue;
        }
        Event.LossSignal excuse = excuse(u, m);
        if (excuse != null) {
          s.lostSignalled++;
          if (excused.size() < MAX_EXCUSED_KEPT) {
            excused.add(describe(m, c) + "; not delivered to " + recipient + ", excused by " + excuse.code() + " ("
                + excuse.reason() + ") at " + History.seconds(excuse.at()) + " after "
                + History.seconds(u.connectedNanos(null, m.at(), excuse.at()))
                + " connected since the invocation (lost session " + excuse.lostSession() + ")");
          }
          continue;
        }
        s.lost++;
        violations.add(new Violation(Violation.Type.LOST, m.kind(), recipient, m.id(),
            describe(m, c) + "; never delivered to " + recipient + lastSeen(u, m.at()),
            m.at(), c == null ? m.at() : c.at(), sources(m)));
      }
    }

    for (Timelines.User u : t.users.values()) {
      Map<String, Newest> newestByStream = new HashMap<>();
      Set<String> seen = new HashSet<>();
      for (Event.Deliver d : u.deliveries) {
        Event.Invoke m = d.id() == null ? null : t.invokes.get(d.id());
        StreamKind kind = m != null ? m.kind() : d.kind();
        StreamStats s = kind == null ? null : stats.get(kind);
        if (s != null) {
          s.deliveries++;
        }
        if (m == null) {
          if (s != null) {
            s.misdelivered++;
          } else {
            unreadable++;
          }
          violations.add(new Violation(Violation.Type.MISDELIVERED, kind, u.name, d.id(),
              "delivery to " + u.name + " at " + History.seconds(d.at()) + " (session " + d.session() + " seq "
                  + d.seq() + " on " + d.instance() + ") is no message of this run: "
                  + (d.raw() != null ? d.raw() : d.id()), d.at(), d.at(), List.of()));
          continue;
        }
        if (!seen.add(m.id())) {
          s.duplicates++;
          Event.Deliver first = u.byId.get(m.id()).get(0);
          violations.add(new Violation(Violation.Type.DUPLICATE, m.kind(), u.name, m.id(),
              describe(m, t.completes.get(m.id())) + "; delivered to " + u.name + " at "
                  + History.seconds(first.at()) + " (" + where(first) + ") and again at " + History.seconds(d.at())
                  + " (" + where(d) + ")", m.at(), d.at(), sources(m)));
          continue;
        }
        Set<String> due = dueTo.get(m.id());
        boolean forThisUser = m.kind() == StreamKind.TOPIC ? u.everSubscribed(m.target()) || (due != null
            && due.contains(u.name)) : m.target().equals(u.name);
        if (!forThisUser) {
          s.misdelivered++;
          violations.add(new Violation(Violation.Type.MISDELIVERED, m.kind(), u.name, m.id(),
              describe(m, t.completes.get(m.id())) + "; delivered to " + u.name + ", who is not its recipient, at "
                  + History.seconds(d.at()) + " (" + where(d) + ")", m.at(), d.at(), sources(m)));
          continue;
        }
        s.delay(d.at() - m.at(), m.id(), u.name);
        String stream = m.kind().code() + "|" + m.source() + "|" + m.target();
        Newest newest = newestByStream.get(stream);
        if (newest == null || newest.m().n() < m.n()) {
          newestByStream.put(stream, new Newest(d, m));
        } else {
          s.reordered++;
          Event.Deliver max = newest.d();
          Event.Invoke later = newest.m();
          violations.add(new Violation(Violation.Type.REORDERED, m.kind(), u.name, m.id(),
              describe(m, t.completes.get(m.id())) + "; delivered to " + u.name + " at " + History.seconds(d.at())
                  + " (" + where(d) + ") after n=" + later.n() + " " + later.id() + " delivered at "
                  + History.seconds(max.at()) + " (" + where(max) + ")"
                  + ", which was invoked at " + History.seconds(later.at())
                  + (later.via() == null ? "" : " via " + later.via()),
              Math.min(m.at(), later.at()), d.at(), sources(m)));
        }
      }
    }
    return new CheckReport(stats, unreadable, violations, excused, t, horizonNanos);
  }

  /**
   * Acknowledged (message, recipient) pairs that are due, undelivered and not excused: what the quiet
   * period waits for. Zero once everything acknowledged has arrived.
   */
  public long outstanding(List<Event> history) {
    Timelines t = new Timelines(history);
    long n = 0;
    for (Event.Invoke m : t.invokes.values()) {
      Event.Complete c = t.completes.get(m.id());
      if (c == null || c.outcome() != Outcome.ACKED) {
        continue;
      }
      for (String recipient : recipients(t, m)) {
        Timelines.User u = t.user(recipient);
        if (!u.byId.containsKey(m.id()) && excuse(u, m) == null) {
          n++;
        }
      }
    }
    return n;
  }

  /** The users {@code m} is due to. */
  private static List<String> recipients(Timelines t, Event.Invoke m) {
    if (m.kind() != StreamKind.TOPIC) {
      return List.of(m.target());
    }
    List<String> due = new ArrayList<>();
    for (Timelines.User u : t.users.values()) {
      if (u.subscribedAt(m.target(), m.at())) {
        due.add(u.name);
      }
    }
    return due;
  }

  /** The loss signal that excuses {@code m} missing at {@code u}, or {@code null} (see the class comment). */
  private Event.LossSignal excuse(Timelines.User u, Event.Invoke m) {
    for (Event.LossSignal s : u.signals) {
      if (s.at() <= m.at()) {
        continue;
      }
      // Connected time in any session: a message the client had H to receive, in whatever session,
      // is not excused by the loss of a later one.
      if (u.connectedNanos(null, m.at(), s.at()) < horizonNanos) {
        return s;
      }
    }
    return null;
  }

  /** The highest-numbered delivery so far of one stream to one user, with its invocation. */
  private record Newest(Event.Deliver d, Event.Invoke m) {}

  private static List<String> sources(Event.Invoke m) {
    return m.kind() == StreamKind.INGRESS ? List.of() : List.of(m.source());
  }

  private static String where(Event.Deliver d) {
    return "session " + d.session() + " seq " + d.seq() + " on " + d.instance();
  }

  static String describe(Event.Invoke m, Event.Complete c) {
    String what = switch (m.kind()) {
      case DIRECT -> "direct " + m.source() + "->" + m.target();
      case TOPIC -> "topic " + m.target() + " from " + m.source();
      case INGRESS -> "ingress " + m.source() + "->" + m.target();
    };
    String outcome = c == null ? "never completed"
        : c.outcome() == Outcome.ACKED ? "acked at " + History.seconds(c.at())
        : c.outcome().name().toLowerCase() + " (" + c.code() + ") at " + History.seconds(c.at());
    return m.id() + " (" + what + " n=" + m.n() + ") invoked at " + History.seconds(m.at())
        + (m.via() == null ? "" : " via " + m.via()) + ", " + outcome;
  }

  private static String lastSeen(Timelines.User u, long since) {
    Event.Deliver last = null;
    for (Event.Deliver d : u.deliveries) {
      if (d.at() >= since) {
        break;
      }
      last = d;
    }
    long after = u.deliveries.stream().filter(d -> d.at() >= since).count();
    return " (" + after + " deliveries to " + u.name + " after the invocation"
        + (last == null ? "" : "; the last before it: seq " + last.seq() + " at " + History.seconds(last.at())) + ")";
  }
}
