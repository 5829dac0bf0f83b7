package io.wsgateway.chaos.faults;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.Set;

/**
 * A seeded fault schedule: the same seed and {@link Spec} give the same faults at the same planned
 * times. Every kind in the spec is placed at least once (one per equal segment of the window, in a
 * seeded order), then extra faults arrive at random (exponential gaps) until the window ends; faults
 * overlap freely, within two rules: a gateway slot has one fault at a time, and at least one gateway
 * stays in service (estimated from each fault's expected length; the nemesis enforces it again at run
 * time). Redis faults do not overlap each other. Immutable.
 */
public final class FaultPlan {

  /** Estimated time for a gateway JVM to start and answer {@code /ready} on a busy 2-core host. */
  static final long START_ESTIMATE_MILLIS = 10_000;
  /** A drain by SIGTERM: the example's spread (set to 2 s by the harness) plus the close's hand-over wait (5 s). */
  static final long SIGTERM_DRAIN_ESTIMATE_MILLIS = 7_000;
  /** A drain by {@code POST /admin/drain}: the default spread (10 s) plus the hand-over wait (5 s). */
  static final long ADMIN_DRAIN_ESTIMATE_MILLIS = 15_000;

  /**
   * What to plan for.
   *
   * @param startMillis first moment a fault may start, after traffic began
   * @param endMillis last moment a fault may start
   * @param meanGapMillis mean time between extra faults (exponential)
   * @param clients number of clients
   * @param slots number of gateway slots
   * @param kinds the kinds to inject; each at least once
   */
  public record Spec(long startMillis, long endMillis, long meanGapMillis, int clients, int slots,
      Set<FaultKind> kinds) {
    public Spec {
      if (startMillis < 0) {
        throw new IllegalArgumentException("startMillis: " + startMillis + " (expected: >= 0)");
      }
      if (endMillis < startMillis + 10_000) {
        throw new IllegalArgumentException("endMillis: " + endMillis + " (expected: >= startMillis + 10000)");
      }
      if (meanGapMillis <= 0) {
        throw new IllegalArgumentException("meanGapMillis: " + meanGapMillis + " (expected: > 0)");
      }
      if (clients < 1) {
        throw new IllegalArgumentException("clients: " + clients + " (expected: > 0)");
      }
      if (slots < 2) {
        throw new IllegalArgumentException("slots: " + slots + " (expected: >= 2)");
      }
      Objects.requireNonNull(kinds, "kinds");
      if (kinds.isEmpty()) {
        throw new IllegalArgumentException("kinds: [] (expected: at least one)");
      }
      kinds = Collections.unmodifiableSet(EnumSet.copyOf(kinds));
    }
  }

  private final long seed;
  private final Spec spec;
  private final List<Fault> faults;

  private FaultPlan(long seed, Spec spec, List<Fault> faults) {
    this.seed = seed;
    this.spec = spec;
    this.faults = List.copyOf(faults);
  }

  /** The seed the plan was made from. */
  public long seed() {
    return seed;
  }

  /** What it was planned for. */
  public Spec spec() {
    return spec;
  }

  /** The faults in time order. */
  public List<Fault> faults() {
    return faults;
  }

  /** The schedule, one fault per line. */
  public String render() {
    StringBuilder b = new StringBuilder("fault schedule, seed " + seed + ", " + faults.size() + " faults\n");
    for (Fault f : faults) {
      b.append(f.describe()).append('\n');
    }
    return b.toString();
  }

  /** Plans the faults for {@code seed}. */
  public static FaultPlan generate(long seed, Spec spec) {
    Random r = new Random(seed);
    long window = spec.endMillis() - spec.startMillis();
    List<FaultKind> mandatory = new ArrayList<>(spec.kinds());
    Collections.shuffle(mandatory, r);
    List<Candidate> candidates = new ArrayList<>();
    long segment = window / mandatory.size();
    for (int i = 0; i < mandatory.size(); i++) {
      candidates.add(new Candidate(mandatory.get(i), spec.startMillis() + i * segment + (long) (r.nextDouble() * segment),
          true));
    }
    List<FaultKind> kinds = new ArrayList<>(spec.kinds());
    long t = spec.startMillis();
    while (true) {
      t += (long) (-Math.log(1 - r.nextDouble()) * spec.meanGapMillis());
      if (t >= spec.endMillis()) {
        break;
      }
      candidates.add(new Candidate(kinds.get(r.nextInt(kinds.size())), t, false));
    }
    candidates.sort(Comparator.comparingLong(Candidate::at));

    long[] slotBusyUntil = new long[spec.slots()];
    boolean[] slotDead = new boolean[spec.slots()];
    long redisBusyUntil = 0;
    List<Fault> planned = new ArrayList<>();
    for (Candidate c : candidates) {
      long at = c.at();
      FaultKind kind = c.kind();
      switch (kind) {
        case DRAIN_RESTART, KILL_RESTART, KILL_FOR_GOOD -> {
          String variant;
          long duration;
          long occupation;
          if (kind == FaultKind.DRAIN_RESTART) {
            variant = r.nextDouble() < 0.4 ? "admin" : "sigterm";
            duration = 0;
            occupation = (variant.equals("admin") ? ADMIN_DRAIN_ESTIMATE_MILLIS : SIGTERM_DRAIN_ESTIMATE_MILLIS)
                + START_ESTIMATE_MILLIS;
          } else if (kind == FaultKind.KILL_RESTART) {
            variant = "";
            duration = between(r, 500, 4_000);
            occupation = duration + START_ESTIMATE_MILLIS;
          } else {
            // A slot may stay dead only while two others live: the rest of the run still needs one to fault.
            boolean mayStayDead = alive(slotDead) >= 3;
            variant = mayStayDead && r.nextDouble() < 0.2 ? "none" : "replace";
            duration = variant.equals("replace") ? between(r, 2_000, 10_000) : 0;
            occupation = variant.equals("replace") ? duration + START_ESTIMATE_MILLIS : Long.MAX_VALUE / 4;
          }
          int slot = eligibleSlot(r, slotBusyUntil, slotDead, at);
          if (slot < 0 && c.mandatory()) {
            at = earliestEligible(slotBusyUntil, slotDead, at);
            slot = eligibleSlot(r, slotBusyUntil, slotDead, at);
          }
          if (slot < 0) {
            continue; // an extra fault that does not fit: dropped
          }
          slotBusyUntil[slot] = at + occupation;
          if (variant.equals("none")) {
            slotDead[slot] = true;
          }
          planned.add(new Fault(0, at, kind, slot, List.of(), List.of(), duration, variant));
        }
        case REDIS_RESTART_EMPTY, REDIS_PAUSE -> {
          long duration = kind == FaultKind.REDIS_PAUSE ? between(r, 1_500, 5_000) : between(r, 0, 2_000);
          if (at < redisBusyUntil) {
            if (!c.mandatory()) {
              continue;
            }
            at = redisBusyUntil;
          }
          redisBusyUntil = at + duration + 1_000;
          planned.add(new Fault(0, at, kind, -1, List.of(), List.of(), duration, ""));
        }
        case RABBIT_CLOSE -> {
          List<Integer> live = new ArrayList<>();
          for (int s = 0; s < spec.slots(); s++) {
            if (!slotDead[s]) {
              live.add(s);
            }
          }
          Collections.shuffle(live, r);
          List<Integer> targets = new ArrayList<>(live.subList(0, 1 + r.nextInt(live.size())));
          Collections.sort(targets);
          planned.add(new Fault(0, at, kind, -1, targets, List.of(), 0, ""));
        }
        case CLIENT_CUT -> {
          String variant = new String[] {"stall", "reset", "stall-reset"}[r.nextInt(3)];
          long duration = switch (variant) {
            case "stall" -> between(r, 2_000, 8_000);
            case "reset" -> between(r, 500, 5_000);
            default -> between(r, 2_000, 6_000);
          };
          planned.add(new Fault(0, at, kind, -1, List.of(), pickClients(r, spec.clients(), 0.10, 0.30), duration,
              variant));
        }
        case CLIENT_CHURN -> {
          String variant = new String[] {"hint", "abrupt", "mixed"}[r.nextInt(3)];
          planned.add(new Fault(0, at, kind, -1, List.of(), pickClients(r, spec.clients(), 0.10, 0.40),
              between(r, 0, 3_000), variant));
        }
        default -> throw new IllegalStateException("unplanned kind " + kind);
      }
    }
    planned.sort(Comparator.comparingLong(Fault::atMillis));
    List<Fault> numbered = new ArrayList<>();
    for (int i = 0; i < planned.size(); i++) {
      Fault f = planned.get(i);
      numbered.add(new Fault(i, f.atMillis(), f.kind(), f.slot(), f.slots(), f.clients(), f.durationMillis(),
          f.variant()));
    }
    return new FaultPlan(seed, spec, numbered);
  }

  private record Candidate(FaultKind kind, long at, boolean mandatory) {}

  private static long between(Random r, long min, long max) {
    return min + (long) (r.nextDouble() * (max - min));
  }

  private static int alive(boolean[] dead) {
    int n = 0;
    for (boolean d : dead) {
      if (!d) {
        n++;
      }
    }
    return n;
  }

  /** A slot free at {@code at} whose loss leaves another slot in service, chosen at random; -1 if none. */
  private static int eligibleSlot(Random r, long[] busyUntil, boolean[] dead, long at) {
    List<Integer> free = new ArrayList<>();
    for (int s = 0; s < busyUntil.length; s++) {
      if (!dead[s] && busyUntil[s] <= at) {
        free.add(s);
      }
    }
    if (free.size() < 2) {
      return -1; // taking the only free slot would leave none in service
    }
    return free.get(r.nextInt(free.size()));
  }

  /** The first moment from {@code at} when two live slots are free. */
  private static long earliestEligible(long[] busyUntil, boolean[] dead, long at) {
    List<Long> ends = new ArrayList<>();
    for (int s = 0; s < busyUntil.length; s++) {
      if (!dead[s]) {
        ends.add(Math.max(at, busyUntil[s]));
      }
    }
    Collections.sort(ends);
    return ends.get(1);
  }

  static List<Integer> pickClients(Random r, int clients, double minFraction, double maxFraction) {
    double fraction = minFraction + r.nextDouble() * (maxFraction - minFraction);
    int n = Math.max(1, (int) Math.round(clients * fraction));
    List<Integer> all = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      all.add(i);
    }
    Collections.shuffle(all, r);
    List<Integer> picked = new ArrayList<>(all.subList(0, Math.min(n, clients)));
    Collections.sort(picked);
    return picked;
  }
}
