package io.wsgateway.chaos.check;

import io.wsgateway.chaos.history.Event;
import io.wsgateway.chaos.history.History;
import io.wsgateway.chaos.history.StreamKind;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the {@link Checker} found: counts per stream kind and overall, every violation, and the
 * faults and reconnects of the run, with a text rendering that shows, for the first violations of each
 * type, the faults and the connections of the users involved around them. Immutable once built.
 */
public final class CheckReport {

  /** Seconds of timeline shown before a violation's span. */
  private static final long CONTEXT_BEFORE_NANOS = 5_000_000_000L;
  /** Seconds of timeline shown after it. */
  private static final long CONTEXT_AFTER_NANOS = 2_000_000_000L;

  private final Map<StreamKind, StreamStats> byKind;
  private final StreamStats total = new StreamStats();
  private final long unreadable;
  private final List<Violation> violations;
  private final List<String> excused;
  private final Timelines timelines;
  private final long horizonNanos;
  private final Map<String, Integer> faultsByKind = new TreeMap<>();
  private final List<Timelines.FaultSpan> faultsNotOk = new ArrayList<>();
  private final int faultOverlaps;
  private final int connects;
  private final int resumed;
  private final int lossSignals;

  CheckReport(Map<StreamKind, StreamStats> byKind, long unreadable, List<Violation> violations,
      List<String> excused, Timelines t, long horizonNanos) {
    this.excused = List.copyOf(excused);
    this.byKind = Collections.unmodifiableMap(new EnumMap<>(byKind));
    for (StreamStats s : byKind.values()) {
      total.add(s);
    }
    total.misdelivered += unreadable;
    this.unreadable = unreadable;
    this.violations = List.copyOf(violations);
    this.timelines = t;
    this.horizonNanos = horizonNanos;
    for (Timelines.FaultSpan f : t.faults) {
      faultsByKind.merge(f.kind(), 1, Integer::sum);
      if (!f.ok()) {
        faultsNotOk.add(f);
      }
    }
    int overlaps = 0;
    for (int i = 0; i < t.faults.size(); i++) {
      for (int j = i + 1; j < t.faults.size(); j++) {
        if (t.faults.get(j).start() < t.faults.get(i).end()) {
          overlaps++;
        }
      }
    }
    this.faultOverlaps = overlaps;
    int c = 0;
    int r = 0;
    int l = 0;
    for (Timelines.User u : t.users.values()) {
      c += u.conns.size();
      r += (int) u.conns.stream().filter(Timelines.Conn::resumed).count();
      l += u.signals.size();
    }
    this.connects = c;
    this.resumed = r;
    this.lossSignals = l;
  }

  /** Whether no violation was found. */
  public boolean ok() {
    return total.violations() == 0;
  }

  /** The counts of one stream kind. */
  public StreamStats stats(StreamKind kind) {
    return byKind.get(kind);
  }

  /** The counts of all kinds together (plus deliveries that could not be read, as misdelivered). */
  public StreamStats total() {
    return total;
  }

  /** Every violation, in the order found (losses first, then per user in delivery order). */
  public List<Violation> violations() {
    return violations;
  }

  /** The violations of one type, earliest first (by the start of their span). */
  public List<Violation> violations(Violation.Type type) {
    return violations.stream().filter(v -> v.type() == type)
        .sorted(java.util.Comparator.comparingLong(Violation::from)).toList();
  }

  /** Losses excused by a loss signal, described (the first {@value Checker#MAX_EXCUSED_KEPT}). */
  public List<String> excused() {
    return excused;
  }

  /** Faults carried out, by kind (as in the history's fault events). */
  public Map<String, Integer> faultsByKind() {
    return Collections.unmodifiableMap(faultsByKind);
  }

  /** How many faults ended not as planned (skipped, or an action that failed). */
  public int faultsNotOk() {
    return faultsNotOk.size();
  }

  /** Pairs of faults that were in effect at the same time. */
  public int faultOverlaps() {
    return faultOverlaps;
  }

  /** Welcomes received by all clients (the first connection of each included). */
  public int connects() {
    return connects;
  }

  /** Of those, resumes that kept the session. */
  public int resumed() {
    return resumed;
  }

  /** Loss signals (resume_failed, gaps) received by all clients. */
  public int lossSignals() {
    return lossSignals;
  }

  /** Connected clients (users seen). */
  public int users() {
    return timelines.users.size();
  }

  /**
   * The report as text: the verdict, a table per stream kind, faults and reconnects, then up to {@code
   * examples} violations of each type with the faults and connections around them.
   */
  public String render(int examples) {
    StringBuilder b = new StringBuilder();
    b.append(ok() ? "CHECK PASSED" : "CHECK FAILED").append(": lost ").append(total.lost).append(", duplicated ")
        .append(total.duplicates).append(", reordered ").append(total.reordered).append(", misdelivered ")
        .append(total.misdelivered).append('\n');
    b.append(String.format(Locale.ROOT, "%-8s %8s %8s %7s %7s %8s %9s %5s %9s %10s %9s %5s %6s %6s  %s%n",
        "stream", "invoked", "acked", "failed", "unknown", "due", "delivered", "LOST", "lost-sig", "unack-lost",
        "unack-dlv", "DUP", "REORD", "MISDLV", "delay p50/p99/max"));
    for (StreamKind k : StreamKind.values()) {
      row(b, k.name().toLowerCase(Locale.ROOT), byKind.get(k));
    }
    row(b, "all", total);
    if (unreadable > 0) {
      b.append("unreadable deliveries: ").append(unreadable).append('\n');
    }
    if (total.worstDelay >= 0) {
      b.append("worst delivery delay: ").append(seconds(total.worstDelay)).append(" (").append(total.worstDelayId)
          .append(" to ").append(total.worstDelayUser).append(")\n");
    }
    b.append("clients: ").append(users()).append(", connections: ").append(connects).append(" (reconnects ")
        .append(Math.max(0, connects - users())).append(", resumed ").append(resumed).append("), loss signals: ")
        .append(lossSignals).append(" (horizon ").append(seconds(horizonNanos)).append(")\n");
    b.append("faults: ").append(faultsByKind).append(", overlapping pairs: ").append(faultOverlaps)
        .append(", not as planned: ").append(faultsNotOk.size()).append('\n');
    for (Timelines.FaultSpan f : faultsNotOk) {
      b.append("  ").append(fault(f)).append('\n');
    }
    if (!excused.isEmpty()) {
      b.append('\n').append("lost after a loss signal (allowed): ").append(total.lostSignalled).append(" (first ")
          .append(Math.min(examples, excused.size())).append(")\n");
      for (String e : excused.subList(0, Math.min(examples, excused.size()))) {
        b.append("- ").append(e).append('\n');
      }
    }
    for (Violation.Type type : Violation.Type.values()) {
      List<Violation> of = violations(type);
      if (of.isEmpty()) {
        continue;
      }
      b.append('\n').append(type).append(": ").append(of.size()).append(" (first ").append(Math.min(examples, of.size()))
          .append(")\n");
      for (Violation v : of.subList(0, Math.min(examples, of.size()))) {
        explain(b, v);
      }
    }
    return b.toString();
  }

  /** One violation with the faults and connection events of its users around it. */
  void explain(StringBuilder b, Violation v) {
    b.append("- ").append(v.summary()).append('\n');
    long from = v.from() - CONTEXT_BEFORE_NANOS;
    long to = v.to() + CONTEXT_AFTER_NANOS;
    for (Timelines.FaultSpan f : timelines.faults) {
      if (f.start() <= to && f.end() >= from) {
        b.append("    fault ").append(fault(f)).append('\n');
      }
    }
    Set<String> users = new LinkedHashSet<>();
    users.add(v.user());
    users.addAll(v.sources());
    for (String name : users) {
      Timelines.User u = timelines.users.get(name);
      if (u == null) {
        continue;
      }
      for (Event e : u.story) {
        if (e.at() >= from && e.at() <= to) {
          b.append("    ").append(name).append(' ').append(story(e)).append('\n');
        }
      }
    }
  }

  private static String fault(Timelines.FaultSpan f) {
    return "#" + f.index() + " " + f.kind() + " " + f.target() + " " + History.seconds(f.start()) + ".."
        + History.seconds(f.end()) + (f.detail() == null || f.detail().isEmpty() ? "" : " " + f.detail())
        + (f.ok() ? "" : " NOT AS PLANNED") + (f.endDetail() == null || f.endDetail().isEmpty() ? "" : ": "
        + f.endDetail());
  }

  private static String story(Event e) {
    String at = History.seconds(e.at());
    if (e instanceof Event.Connected c) {
      return at + " connected on " + c.instance() + " session " + c.session() + (c.resumed() ? " (resumed)" : " (new session)");
    } else if (e instanceof Event.Disconnected d) {
      return at + " disconnected" + (d.reason() == null ? "" : " (" + d.reason() + ")");
    } else if (e instanceof Event.LossSignal s) {
      return at + " LOSS SIGNAL " + s.code() + " " + s.reason() + " (lost session " + s.lostSession() + ")";
    } else if (e instanceof Event.ClientError c) {
      return at + " error " + c.code() + ": " + c.message();
    }
    return at + " " + e;
  }

  private static void row(StringBuilder b, String name, StreamStats s) {
    b.append(String.format(Locale.ROOT, "%-8s %8d %8d %7d %7d %8d %9d %5d %9d %10d %9d %5d %6d %6d  %s/%s/%s%n", name,
        s.invoked, s.acked, s.failed, s.unknown, s.due, s.delivered, s.lost, s.lostSignalled, s.unackedUndelivered,
        s.unackedDelivered, s.duplicates, s.reordered, s.misdelivered, seconds(s.delayPercentile(50)),
        seconds(s.delayPercentile(99)), seconds(s.worstDelay)));
  }

  private static String seconds(long nanos) {
    return nanos < 0 ? "-" : History.seconds(nanos);
  }
}
