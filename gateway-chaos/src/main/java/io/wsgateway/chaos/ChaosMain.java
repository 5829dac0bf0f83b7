package io.wsgateway.chaos;

import io.wsgateway.chaos.check.CheckReport;
import io.wsgateway.chaos.check.Checker;
import io.wsgateway.chaos.faults.FaultKind;
import io.wsgateway.chaos.history.HistoryFile;
import java.io.PrintStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * The command line of the harness (gateway-chaos/chaos.sh runs it): a run, the schedule of a seed, or
 * a new check of a stored history. Exit status: 0 clean, 1 violations found, 2 harness error, 64 usage.
 */
public final class ChaosMain {

  static final int EXIT_CLEAN = 0;
  static final int EXIT_VIOLATIONS = 1;
  static final int EXIT_HARNESS = 2;
  static final int EXIT_USAGE = 64;

  private ChaosMain() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out));
  }

  static int run(String[] args, PrintStream out) {
    ChaosOptions.Builder b = ChaosOptions.builder();
    boolean planOnly = false;
    Path check = null;
    Long seed = null;
    Duration horizon = Checker.DEFAULT_HORIZON;
    try {
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--help", "-h" -> {
            usage(out);
            return EXIT_CLEAN;
          }
          case "--plan" -> planOnly = true;
          case "--check" -> check = Path.of(value(args, ++i, a));
          case "--seed" -> seed = Long.parseLong(value(args, ++i, a));
          case "--duration" -> b.duration(Duration.ofSeconds(Long.parseLong(value(args, ++i, a))));
          case "--clients" -> b.clients(Integer.parseInt(value(args, ++i, a)));
          case "--out" -> b.outDir(Path.of(value(args, ++i, a)));
          case "--jar" -> b.gatewayJar(Path.of(value(args, ++i, a)));
          case "--mean-fault-gap" -> b.meanFaultGap(Duration.ofMillis(
              (long) (Double.parseDouble(value(args, ++i, a)) * 1000)));
          case "--horizon" -> {
            horizon = Duration.ofSeconds(Long.parseLong(value(args, ++i, a)));
            b.horizon(horizon);
          }
          case "--kinds" -> b.faultKinds(kinds(value(args, ++i, a)));
          case "--topics" -> b.topics(Integer.parseInt(value(args, ++i, a)));
          case "--direct-burst" -> b.directBurst(Integer.parseInt(value(args, ++i, a)));
          case "--ingress-burst" -> b.ingressBurst(Integer.parseInt(value(args, ++i, a)));
          default -> throw new IllegalArgumentException("unknown option " + a);
        }
      }
    } catch (IllegalArgumentException | IllegalStateException e) {
      out.println("chaos: " + e.getMessage());
      usage(out);
      return EXIT_USAGE;
    }
    if (check != null) {
      try {
        CheckReport r = new Checker(horizon).check(HistoryFile.read(check));
        out.print(r.render(ChaosRun.EXAMPLES));
        return r.ok() ? EXIT_CLEAN : EXIT_VIOLATIONS;
      } catch (Exception e) {
        out.println("chaos: cannot check " + check + ": " + e);
        return EXIT_HARNESS;
      }
    }
    long s = seed != null ? seed : new SecureRandom().nextLong();
    ChaosOptions options;
    try {
      options = b.seed(s).build();
    } catch (IllegalStateException e) {
      out.println("chaos: " + e.getMessage());
      return EXIT_USAGE;
    }
    if (planOnly) {
      out.print(ChaosRun.plan(options).render());
      out.print(ChaosRun.workload(options).render());
      return EXIT_CLEAN;
    }
    try {
      ChaosRun run = new ChaosRun(options, out);
      ChaosResult result = run.run();
      if (result.harnessError() != null || result.report() == null) {
        return EXIT_HARNESS;
      }
      return result.report().ok() ? EXIT_CLEAN : EXIT_VIOLATIONS;
    } catch (Exception e) {
      e.printStackTrace(out);
      return EXIT_HARNESS;
    }
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args[i];
  }

  private static Set<FaultKind> kinds(String list) {
    Set<FaultKind> kinds = EnumSet.noneOf(FaultKind.class);
    for (String k : list.split(",")) {
      kinds.add(FaultKind.valueOf(k.strip().toUpperCase(Locale.ROOT).replace('-', '_')));
    }
    return kinds;
  }

  private static void usage(PrintStream out) {
    out.println("""
        Usage: chaos.sh [--seed N] [--duration S] [--clients N] [--out DIR] [--jar PATH]
                        [--mean-fault-gap S] [--horizon S] [--kinds K,K,...]
                        [--topics N] [--direct-burst N] [--ingress-burst N]    run a schedule
                        (a burst or topic count of 0 leaves that stream out)
               chaos.sh --plan --seed N [--duration S] [--clients N]          print a seed's schedule
               chaos.sh --check DIR/history.jsonl [--horizon S]               check a stored history again
        Defaults: a random seed (printed), 90 s, 30 clients, every fault kind, out target/chaos.
        Kinds: drain_restart, kill_restart, kill_for_good, redis_restart_empty, redis_pause, rabbit_close,
               client_cut, client_churn. Exit: 0 clean, 1 violations, 2 harness error, 64 usage.
        See docs/chaos.md.""");
  }
}
