package io.wsgateway.benchmarks.load;

import io.netty.buffer.ByteBuf;
import io.wsgateway.benchmarks.client.BenchClient;
import io.wsgateway.benchmarks.client.BenchClient.WsConnection;
import io.wsgateway.benchmarks.client.Frames;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;

/** {@code idle}: many held connections and the gateway's memory per connection; {@code storm}: connect rate. */
final class ConnectScenarios {

  private static final byte[] WELCOME = Frames.ascii("{\"type\":\"welcome\"");

  private ConnectScenarios() {}

  /** Counts welcome frames (the gateway sends one once the connection is registered) and closes. */
  private static final class Tracker {
    final int n;
    final AtomicInteger welcomed = new AtomicInteger();
    final AtomicInteger closed = new AtomicInteger();
    final AtomicInteger failures = new AtomicInteger();
    final long[] welcomedAt;
    final long[] openedAt;
    // Made here, so that warm-up rounds and the measured run share their lambda classes and code (no
    // class is spun, no branch seen for the first time, while the clock runs).
    final IntFunction<BenchClient.Listener> listeners;
    final BooleanSupplier allWelcomed;
    final BooleanSupplier allClosed;

    Tracker(int n) {
      this.n = n;
      welcomedAt = new long[n];
      openedAt = new long[n];
      listeners = this::listener;
      allWelcomed = () -> welcomed.get() >= n - failures.get();
      allClosed = () -> closed.get() >= n - failures.get();
    }

    BenchClient.Listener listener(int i) {
      return new BenchClient.Listener() {
        @Override
        public void onText(WsConnection c, ByteBuf content) {
          if (Frames.startsWith(content, WELCOME)) {
            welcomedAt[i] = System.nanoTime();
            welcomed.incrementAndGet();
          }
        }

        @Override
        public void onClose(WsConnection c) {
          closed.incrementAndGet();
        }
      };
    }
  }

  /**
   * Opens and closes {@code n} connections (users {@code warm-*}) before anything is measured, so the
   * gateway's JIT, buffer pools and registry maps are warm: a cold JVM spends most of a first storm
   * compiling, and its first-time allocations would count as memory per connection. {@code concurrency}
   * should be the measured run's: a round of another shape (e.g. the client blocking on its permits
   * instead of waiting for the handshakes) leaves code that is deoptimised and compiled again in the
   * measured run. Returns the seconds the round took.
   */
  private static double warmUp(BenchClient client, BenchClient.Target[] targets, int sources, int concurrency)
      throws Exception {
    int n = targets.length;
    if (n <= 0) {
      return 0;
    }
    Tracker t = new Tracker(n);
    long t0 = System.nanoTime();
    List<WsConnection> conns = LoadTool.connectAll(client, targets, sources, Math.min(n, concurrency), t.listeners,
        t.failures, t.openedAt);
    LoadTool.await(t.allWelcomed, 60_000);
    LoadTool.closeAll(conns);
    LoadTool.await(t.allClosed, 60_000);
    return (System.nanoTime() - t0) / 1e9;
  }

  private static String millis(long nanos) {
    return nanos < 0 ? "n/a" : nanos / 1_000_000L + " ms";
  }

  /** The warm-up round's targets (users {@code warm-*}), minted once and reused by every round. */
  private static BenchClient.Target[] warmTargets(LoadTool.Args args, String url, int n) {
    return LoadTool.tokenTargets(args, url, args.string("user-prefix", "") + "warm-", Math.max(0, n));
  }

  /**
   * Waits (at most {@code maxMs}; {@code --settle S}, default 10 s, 0 skips it) until neither this JVM's JIT nor the gateway is busy: both compile
   * in the background after a warm-up round, and that work would otherwise be charged to the measured
   * storm. Quiet means no JIT time here and under 10 ms of gateway CPU (one /proc tick) in 100 ms.
   */
  private static void settle(long pid, long maxMs) throws InterruptedException {
    if (maxMs <= 0) {
      return;
    }
    var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
    boolean jitTimed = jit != null && jit.isCompilationTimeMonitoringSupported();
    long t0 = System.nanoTime();
    long deadline = t0 + maxMs * 1_000_000L;
    long lastJit = jitTimed ? jit.getTotalCompilationTime() : 0;
    long lastGateway = pid > 0 ? ProcStats.cpuNanos(pid) : 0;
    int quiet = 0;
    while (quiet < 2 && System.nanoTime() < deadline) {
      Thread.sleep(100);
      long j = jitTimed ? jit.getTotalCompilationTime() : 0;
      long g = pid > 0 ? ProcStats.cpuNanos(pid) : 0;
      quiet = j == lastJit && g - lastGateway <= 10_000_000L ? quiet + 1 : 0;
      lastJit = j;
      lastGateway = g;
    }
    System.out.printf(Locale.ROOT, "settle: %s after %.1f s%n", quiet >= 2 ? "tool JIT and gateway quiet" : "still busy",
        (System.nanoTime() - t0) / 1e9);
  }

  static boolean idle(LoadTool.Args args, BenchClient client) throws Exception {
    String url = args.string("url", null);
    int n = args.integer("connections", 1000);
    // Several source addresses: the warmup rounds leave TIME_WAIT sockets behind, and a crowded
    // port range makes every bind(addr, 0) of the next round slow on the tool side.
    int sources = args.integer("sources", 8);
    int concurrency = args.integer("concurrency", 1000);
    int holdSeconds = args.integer("hold", 5);
    long pid = args.pid("pid");
    boolean gc = !args.flag("no-gc");
    System.out.println("scenario: idle " + args.describe());
    // All tokens are minted first, so the JIT work of minting is done during the warm-up, not after it.
    BenchClient.Target[] warm = warmTargets(args, url, args.integer("warmup-connections", Math.min(n, 2000)));
    // --user-prefix keeps users distinct when several tool processes share one registry (fleet.sh).
    BenchClient.Target[] targets = LoadTool.tokenTargets(args, url, args.string("user-prefix", "") + "idle-", n);
    System.out.printf(Locale.ROOT, "warmup: %d connections opened and closed in %.1f s%n", warm.length,
        warmUp(client, warm, sources, concurrency));
    int connectTimeoutSeconds = args.integer("connect-timeout", 60);
    String holdUntil = args.string("hold-until", "");

    long heapBefore = pid > 0 && gc ? ProcStats.gcAndHeapUsedKiB(pid) : -1;
    long rssBefore = pid > 0 ? ProcStats.rssKiB(pid) : -1;
    Tracker t = new Tracker(n);
    AtomicInteger failures = t.failures;
    long t0 = System.nanoTime();
    List<WsConnection> conns = LoadTool.connectAll(client, targets, sources, concurrency, t.listeners, failures, null,
        connectTimeoutSeconds);
    boolean all = LoadTool.await(t.allWelcomed, connectTimeoutSeconds * 1000L);
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "connected: %d of %d (%d failed) in %.2f s: %.0f conn/s (concurrency %d, sources %d)%n",
        t.welcomed.get(), n, failures.get(), seconds, t.welcomed.get() / seconds, concurrency, sources);

    // With --hold-until FILE the figures are taken at once and the connections are then held until FILE
    // exists (at most --hold seconds), so a driver script can check them while they are open.
    if (holdUntil.isEmpty()) {
      Thread.sleep(holdSeconds * 1000L);
    }
    long heapAfter = pid > 0 && gc ? ProcStats.gcAndHeapUsedKiB(pid) : -1;
    long rssAfter = pid > 0 ? ProcStats.rssKiB(pid) : -1;
    int open = t.welcomed.get() - t.closed.get();
    System.out.printf("held: %d open after %d s%n", open, holdUntil.isEmpty() ? holdSeconds : 0);
    if (rssBefore > 0 && rssAfter > 0 && open > 0) {
      System.out.printf(Locale.ROOT, "gateway_rss_kib: before=%d after=%d  rss_per_connection: %.2f KiB%n",
          rssBefore, rssAfter, (rssAfter - rssBefore) / (double) open);
    } else {
      System.out.println("gateway_rss: n/a (pass --pid of the gateway)");
    }
    if (heapBefore > 0 && heapAfter > 0 && open > 0) {
      System.out.printf(Locale.ROOT, "gateway_heap_used_after_full_gc_kib: before=%d after=%d  heap_per_connection: %.2f KiB%n",
          heapBefore, heapAfter, (heapAfter - heapBefore) / (double) open);
    }
    if (!holdUntil.isEmpty()) {
      java.nio.file.Path release = java.nio.file.Path.of(holdUntil);
      System.out.println("holding: until " + release + " exists (at most " + holdSeconds + " s)");
      long h0 = System.nanoTime();
      boolean released = LoadTool.await(() -> java.nio.file.Files.exists(release), holdSeconds * 1000L);
      int stillOpen = t.welcomed.get() - t.closed.get();
      System.out.printf(Locale.ROOT, "released: %s after %.1f s, %d open%n", released ? "by file" : "by --hold timeout",
          (System.nanoTime() - h0) / 1e9, stillOpen);
      open = Math.min(open, stillOpen);
    }
    LoadTool.closeAll(conns);
    return all && failures.get() == 0 && open == n;
  }

  static boolean storm(LoadTool.Args args, BenchClient client) throws Exception {
    String url = args.string("url", null);
    int n = args.integer("connections", 1000);
    // Several source addresses: the warmup rounds leave TIME_WAIT sockets behind, and a crowded
    // port range makes every bind(addr, 0) of the next round slow on the tool side.
    int sources = args.integer("sources", 8);
    int concurrency = args.integer("concurrency", n);
    long pid = args.pid("pid");
    System.out.println("scenario: storm " + args.describe());
    // Tokens are minted before the clock starts, and before the warm-up so that compiling the minting
    // code is over by then: the storm measures the gateway, not the signer.
    BenchClient.Target[] warm = warmTargets(args, url, args.integer("warmup-connections", n));
    BenchClient.Target[] targets = LoadTool.tokenTargets(args, url, "storm-", n);
    // Rounds until the JIT is done: compiling the handshake path takes seconds of CPU on this machine,
    // and a fixed count is either wasteful or short. C2 takes a method run once per connection after
    // 5,000 profiled calls at the earliest, later while its queue is long, and inlining decisions
    // recompile whole paths again after that: with 8 rounds of 5,000 the gateway still spent ~100
    // CPU-us per connection, after ~20 rounds ~60 (2026-11-28). So: at least --warmup-rounds (8), then
    // until a round in which neither JVM's compiler threads used more than --warmup-jit-ms (20 ms;
    // two /proc ticks) of CPU, at most --warmup-max-rounds (60).
    int minRounds = args.integer("warmup-rounds", 8);
    int maxRounds = Math.max(minRounds, args.integer("warmup-max-rounds", 60));
    long jitQuietNanos = args.integer("warmup-jit-ms", 20) * 1_000_000L;
    long self = ProcessHandle.current().pid();
    boolean steady = false;
    boolean measured = false;
    int rounds = 0;
    while (rounds < maxRounds && !(steady && rounds >= minRounds)) {
      long gatewayJit = ProcStats.jitCpuNanos(pid);
      long toolJit = ProcStats.jitCpuNanos(self);
      double seconds = warmUp(client, warm, sources, concurrency);
      rounds++;
      long gatewayJitNanos = gatewayJit < 0 ? -1 : ProcStats.jitCpuNanos(pid) - gatewayJit;
      long toolJitNanos = toolJit < 0 ? -1 : ProcStats.jitCpuNanos(self) - toolJit;
      System.out.printf(Locale.ROOT, "warmup round %d: %d connections opened and closed in %.1f s; JIT CPU gateway %s,"
          + " tool %s%n", rounds, warm.length, seconds, millis(gatewayJitNanos), millis(toolJitNanos));
      // Without a /proc reading (no --pid, or not Linux) the minimum count is all there is.
      measured = gatewayJitNanos >= 0 && toolJitNanos >= 0;
      steady = gatewayJitNanos <= jitQuietNanos && toolJitNanos <= jitQuietNanos;
    }
    System.out.printf(Locale.ROOT, "warmup: %s after %d rounds%n", !measured ? "no JIT reading (no --pid?)"
        : steady ? "JIT quiet" : "JIT still busy (--warmup-max-rounds reached)", rounds);
    settle(pid, args.integer("settle", 10) * 1000L);
    Tracker t = new Tracker(n);
    AtomicInteger failures = t.failures;
    long[] openedAt = t.openedAt;
    LoadTool.Cpu cpu = new LoadTool.Cpu(pid);
    cpu.start();
    long t0 = System.nanoTime();
    List<WsConnection> conns = LoadTool.connectAll(client, targets, sources, concurrency, t.listeners, failures, openedAt);
    boolean all = LoadTool.await(t.allWelcomed, 60_000);
    long t1 = System.nanoTime();
    cpu.stop();
    double seconds = (t1 - t0) / 1e9;
    Histogram latency = new Histogram(3);
    for (int i = 0; i < n; i++) {
      if (t.welcomedAt[i] > 0) {
        latency.recordValue(Math.max(0, t.welcomedAt[i] - openedAt[i]));
      }
    }
    System.out.printf(Locale.ROOT, "welcomed: %d of %d (%d failed) in %.3f s: %.0f conn/s (concurrency %d, sources %d)%n",
        t.welcomed.get(), n, failures.get(), seconds, t.welcomed.get() / seconds, concurrency, sources);
    System.out.println("connect_to_welcome: " + LoadTool.percentilesUs(latency));
    cpu.print(t.welcomed.get(), "conn");
    LoadTool.closeAll(conns);
    return all && failures.get() == 0;
  }
}
