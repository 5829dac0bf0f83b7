package io.wsgateway.benchmarks.load;

import io.wsgateway.auth.JwtTokens;
import io.wsgateway.benchmarks.client.BenchClient;
import io.wsgateway.benchmarks.client.BenchClient.WsConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;

/**
 * The end-to-end load tool: drives a running gateway over real sockets and prints figures.
 *
 * <pre>
 * java -cp benchmarks.jar io.wsgateway.benchmarks.load.LoadTool &lt;scenario&gt; [options]
 *   idle   --url U --connections N [--pid P] [--sources K] [--concurrency C] [--hold S]
 *          [--user-prefix P] [--hold-until FILE] [--connect-timeout S]
 *   storm  --url U --connections N [--pid P] [--sources K] [--concurrency C] [--warmup-rounds R (8)]
 *          [--warmup-max-rounds M (60)] [--warmup-jit-ms J (20)] [--settle S (10)]
 *   route  --url U [--url2 U2] --users N (--rate R | --flat) [--window W] [--duration S] [--warmup S]
 *          [--payload BYTES] [--pid P] [--pid2 P2]
 *   fanout --url U --subscribers N --publishes P [--window W] [--pid P]
 *   hostile --url U --pid P [--hostile N (4)] [--hostile-users U] [--duration S (60)] [--warmup S (20)]
 *          [--good G (10)] [--rate R (200)] [--reconnect-ms M (1000)] [--max-growth-mb MB (50)]
 * common:  --secret S (HS256, as the gateway's GATEWAY_JWT_SECRET)  --threads T (client event loops, 1)
 * </pre>
 *
 * Exits 0 when the run was clean, 1 when anything was lost, refused or answered with an error, 2 on
 * bad arguments: the smoke run relies on it.
 */
public final class LoadTool {

  static final String DEFAULT_SECRET = "load-tool-secret-load-tool-secret-0123456789";

  private LoadTool() {}

  public static void main(String[] argv) throws Exception {
    if (argv.length == 0) {
      usage("no scenario");
    }
    Args args = Args.parse(argv);
    boolean clean;
    try (BenchClient client = new BenchClient(args.integer("threads", 1))) {
      clean = switch (argv[0]) {
        case "idle" -> ConnectScenarios.idle(args, client);
        case "storm" -> ConnectScenarios.storm(args, client);
        case "route" -> RouteScenario.run(args, client);
        case "fanout" -> FanoutScenario.run(args, client);
        case "hostile" -> HostileScenario.run(args, client);
        default -> {
          usage("unknown scenario " + argv[0]);
          yield false;
        }
      };
    }
    System.out.println("result: " + (clean ? "clean" : "NOT CLEAN"));
    System.exit(clean ? 0 : 1);
  }

  static void usage(String problem) {
    System.err.println("LoadTool: " + problem);
    System.err.println("usage: LoadTool idle|storm|route|fanout|hostile --url ws://host:port/ws [options]; see the class Javadoc"
        + " or docs/BENCHMARKS.md");
    System.exit(2);
  }

  /** {@code --name value} options and {@code --flag} switches. */
  static final class Args {
    private final Map<String, String> values = new HashMap<>();

    static Args parse(String[] argv) {
      Args a = new Args();
      for (int i = 1; i < argv.length; i++) {
        if (!argv[i].startsWith("--")) {
          usage("unexpected argument " + argv[i]);
        }
        String name = argv[i].substring(2);
        if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
          a.values.put(name, argv[++i]);
        } else {
          a.values.put(name, "true");
        }
      }
      return a;
    }

    String string(String name, String fallback) {
      String v = values.get(name);
      if (v == null && fallback == null) {
        usage("--" + name + " is required");
      }
      return v == null ? fallback : v;
    }

    int integer(String name, int fallback) {
      String v = values.get(name);
      return v == null ? fallback : Integer.parseInt(v.replace("_", ""));
    }

    long pid(String name) {
      String v = values.get(name);
      return v == null ? -1 : Long.parseLong(v);
    }

    boolean flag(String name) {
      return values.containsKey(name);
    }

    byte[] secret() {
      return string("secret", DEFAULT_SECRET).getBytes(StandardCharsets.UTF_8);
    }

    /** The options as given, the secret masked. */
    String describe() {
      Map<String, String> shown = new java.util.TreeMap<>(values);
      shown.computeIfPresent("secret", (k, v) -> "***");
      return shown.toString();
    }
  }

  /**
   * Mints HS256 tokens valid for a day, with {@code topics: ["*"]} so any topic may be used, and builds
   * each one's connection target (resolved address, complete upgrade request) here, before any clock.
   */
  static BenchClient.Target[] tokenTargets(Args args, String url, String userPrefix, int count) {
    byte[] secret = args.secret();
    Instant exp = Instant.now().plusSeconds(24 * 3600);
    Map<String, Object> claims = Map.of("topics", List.of("*"));
    BenchClient.Target[] targets = new BenchClient.Target[count];
    String sep = url.contains("?") ? "&" : "?";
    InetSocketAddress remote = count == 0 ? null : BenchClient.Target.of(URI.create(url)).remote();
    for (int i = 0; i < count; i++) {
      URI uri = URI.create(url + sep + "access_token=" + JwtTokens.hs256(secret, userPrefix + i, claims, exp));
      targets[i] = BenchClient.Target.of(uri, remote);
    }
    return targets;
  }

  /**
   * Opens one connection per target with at most {@code concurrency} handshakes outstanding, binding the
   * source address round-robin over 127.0.0.1..127.0.0.k so more than one source port range is used.
   * Returns the connections (null where one failed); {@code failures} counts those.
   */
  static List<WsConnection> connectAll(BenchClient client, BenchClient.Target[] targets, int sources, int concurrency,
      IntFunction<BenchClient.Listener> listeners, AtomicInteger failures, long[] openedAtNanos) throws InterruptedException {
    return connectAll(client, targets, sources, concurrency, listeners, failures, openedAtNanos, 60);
  }

  /**
   * As above, with one deadline of {@code timeoutSeconds} for the whole batch (there is no timer per
   * connection): whatever has not completed its handshake by then fails and is closed.
   */
  static List<WsConnection> connectAll(BenchClient client, BenchClient.Target[] targets, int sources, int concurrency,
      IntFunction<BenchClient.Listener> listeners, AtomicInteger failures, long[] openedAtNanos, int timeoutSeconds)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    Semaphore permits = new Semaphore(concurrency);
    List<BenchClient.Opening> futures = new ArrayList<>(targets.length);
    boolean loopback = targets.length > 0 && "127.0.0.1".equals(targets[0].host());
    InetSocketAddress[] locals = null;
    if (loopback && sources > 1) {
      locals = new InetSocketAddress[sources];
      for (int s = 0; s < sources; s++) {
        locals[s] = new InetSocketAddress("127.0.0." + (1 + s), 0);
      }
    }
    BiConsumer<WsConnection, Throwable> done = (c, e) -> {
      permits.release();
      if (e != null) {
        int n = failures.incrementAndGet();
        if (n <= 3) {
          System.err.println("connect failed: " + e);
        }
      }
    };
    int started = 0;
    for (int i = 0; i < targets.length; i++) {
      if (!permits.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        break;
      }
      if (openedAtNanos != null) {
        openedAtNanos[i] = System.nanoTime();
      }
      BenchClient.Opening f = client.connect(targets[i], locals == null ? null : locals[i % sources], listeners.apply(i));
      f.whenComplete(done);
      futures.add(f);
      started++;
    }
    if (started < targets.length) {
      failures.addAndGet(targets.length - started);
      System.err.printf(Locale.ROOT, "connect: deadline of %d s passed with %d of %d connections not started%n",
          timeoutSeconds, targets.length - started, targets.length);
    }
    List<WsConnection> out = new ArrayList<>(targets.length);
    for (BenchClient.Opening f : futures) {
      try {
        out.add(f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
      } catch (TimeoutException e) {
        f.timeOut();
        out.add(null);
      } catch (Exception e) {
        out.add(null);
      }
    }
    for (int i = started; i < targets.length; i++) {
      out.add(null);
    }
    return out;
  }

  /** Waits until {@code condition} holds or {@code timeoutMs} passes; returns whether it held. */
  static boolean await(java.util.function.BooleanSupplier condition, long timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(5);
    }
    return true;
  }

  static void closeAll(List<WsConnection> connections) {
    for (WsConnection c : connections) {
      if (c != null) {
        c.close();
      }
    }
  }

  /** p50/p99/p99.9/max of a nanosecond histogram, in microseconds. */
  static String percentilesUs(Histogram h) {
    if (h.getTotalCount() == 0) {
      return "n/a (no samples)";
    }
    return String.format(Locale.ROOT, "p50=%.0f p99=%.0f p999=%.0f max=%.0f (us, %d samples)",
        h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3,
        h.getMaxValue() / 1e3, h.getTotalCount());
  }

  static String f1(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  /** Gateway and tool CPU over a measured interval; the gateway side may span two pids. */
  static final class Cpu {
    private final long[] pids;
    private long gatewayStart;
    private long systemStart;
    private long systemNanos = -1;
    private long toolStart;
    private long gatewayNanos = -1;
    private long toolNanos;

    Cpu(long... pids) {
      this.pids = pids;
    }

    void start() {
      gatewayStart = gateway();
      systemStart = system();
      toolStart = ProcStats.selfCpuNanos();
    }

    void stop() {
      long g = gateway();
      gatewayNanos = g < 0 || gatewayStart < 0 ? -1 : g - gatewayStart;
      long s = system();
      systemNanos = s < 0 || systemStart < 0 ? -1 : s - systemStart;
      toolNanos = ProcStats.selfCpuNanos() - toolStart;
    }

    private long system() {
      return sum(ProcStats::systemNanos);
    }

    private long gateway() {
      return sum(ProcStats::cpuNanos);
    }

    /** {@code read} summed over the gateway pids; -1 if there is none or one cannot be read. */
    private long sum(java.util.function.LongUnaryOperator read) {
      long sum = 0;
      boolean any = false;
      for (long pid : pids) {
        if (pid > 0) {
          long c = read.applyAsLong(pid);
          if (c < 0) {
            return -1;
          }
          sum += c;
          any = true;
        }
      }
      return any ? sum : -1;
    }

    /** Prints the CPU figures; {@code per} names the unit of work ({@code msg}, {@code conn}). */
    void print(long units, String per) {
      if (gatewayNanos >= 0) {
        System.out.printf(Locale.ROOT, "gateway_cpu_s: %.2f (kernel %.2f)  gateway_cpu_us_per_%s: %.2f%n",
            gatewayNanos / 1e9, systemNanos / 1e9, per, units == 0 ? 0 : gatewayNanos / 1e3 / units);
      } else {
        System.out.println("gateway_cpu_s: n/a (pass --pid of the gateway)");
      }
      System.out.printf(Locale.ROOT, "tool_cpu_s: %.2f  tool_cpu_us_per_%s: %.2f%n",
          toolNanos / 1e9, per, units == 0 ? 0 : toolNanos / 1e3 / units);
    }
  }
}
