package io.wsgateway.chaos;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.wsgateway.chaos.check.CheckReport;
import io.wsgateway.chaos.check.Checker;
import io.wsgateway.chaos.env.Fleet;
import io.wsgateway.chaos.env.GatewayNode;
import io.wsgateway.chaos.env.HaProxy;
import io.wsgateway.chaos.env.Poll;
import io.wsgateway.chaos.env.Ports;
import io.wsgateway.chaos.env.RabbitAdmin;
import io.wsgateway.testkit.RedisServer;
import io.wsgateway.chaos.faults.FaultKind;
import io.wsgateway.chaos.faults.FaultPlan;
import io.wsgateway.chaos.faults.Nemesis;
import io.wsgateway.chaos.history.Event;
import io.wsgateway.chaos.history.History;
import io.wsgateway.chaos.history.HistoryFile;
import io.wsgateway.chaos.net.ClientProxy;
import io.wsgateway.chaos.workload.Backend;
import io.wsgateway.chaos.workload.ChaosClient;
import io.wsgateway.chaos.workload.Workload;
import io.wsgateway.chaos.workload.WorkloadPlan;
import io.wsgateway.client.GatewayClient;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One chaos run, start to finish: sets up a private Redis, three example gateways in their own JVMs
 * behind HAProxy, a proxy and a client per user, and the backend; runs the workload while the nemesis
 * carries out the seeded fault schedule; heals every fault; waits in a quiet period until everything
 * acknowledged has arrived (or nothing arrives any more); checks the history; and removes everything
 * it created. Writes its directory (see {@link ChaosResult#dir()}). Not thread-safe; one use.
 */
public final class ChaosRun {

  /** Gateway slots behind HAProxy. */
  public static final int GATEWAYS = 3;
  /** The drain spread the gateways get for SIGTERM drains (docs/operations.md: the default is 10 s). */
  static final long DRAIN_SPREAD_MS = 2_000;
  /** The drain deadline for SIGTERM drains. */
  static final long DRAIN_DEADLINE_MS = 8_000;
  /** Violations shown per type in the report. */
  static final int EXAMPLES = 8;

  private final ChaosOptions options;
  private final PrintStream out;
  private final String runId = HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
  private final String secret = "chaos-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(24));
  private final History history = new History();
  /** The wall-clock time of the history's zero, to line the history up with the gateways' logs. */
  private final Instant startedAt = Instant.now();
  private final CountDownLatch interrupted = new CountDownLatch(1);
  private final List<AutoCloseable> processes = new ArrayList<>();
  /** When traffic began, on the history's clock: schedule times are relative to it. */
  private long trafficAt = -1;

  public ChaosRun(ChaosOptions options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  /** The fault schedule of {@code options}: a pure function of its seed and sizes. */
  public static FaultPlan plan(ChaosOptions o) {
    long duration = o.duration().toMillis();
    return FaultPlan.generate(o.seed(), new FaultPlan.Spec(o.faultStart().toMillis(),
        duration - o.faultStopBefore().toMillis(), o.meanFaultGap().toMillis(), o.clients(), GATEWAYS,
        o.faultKinds()));
  }

  /**
   * The workload of {@code options}: a pure function of its seed and sizes. Its random stream is
   * seeded by the first number of the seed's, so that it does not repeat the fault plan's choices.
   */
  public static WorkloadPlan workload(ChaosOptions o) {
    return WorkloadPlan.generate(new Random(o.seed()).nextLong(), o.clients(), o.peersPerClient(), o.topics(),
        o.subscribersPerTopic(), o.publishersPerTopic());
  }

  /** Runs; never throws for a failure of the system under test (that is in the report). */
  public ChaosResult run() throws IOException {
    String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT).withZone(ZoneOffset.UTC)
        .format(Instant.now());
    Path dir = options.outDir().resolve(stamp + "-seed" + options.seed() + "-" + runId).toAbsolutePath();
    Path logs = Files.createDirectories(dir.resolve("logs"));
    FaultPlan plan = plan(options);
    WorkloadPlan workloadPlan = workload(options);
    Files.writeString(dir.resolve("schedule.txt"), plan.render());
    Files.writeString(dir.resolve("workload.txt"), workloadPlan.render());
    Files.writeString(dir.resolve("options.txt"), options + "\n");
    out.println("chaos run " + runId + ": seed " + options.seed() + ", " + options.duration().toSeconds() + " s, "
        + options.clients() + " clients, " + plan.faults().size() + " faults planned; directory " + dir);
    out.print(plan.render());
    Thread hook = new Thread(this::killProcesses, "chaos-kill-children");
    Runtime.getRuntime().addShutdownHook(hook);

    String prefix = "chaos." + runId;
    RabbitAdmin rabbit = new RabbitAdmin(options.rabbitmqctl(), options.rabbitUri());
    Map<String, Long> phases = new LinkedHashMap<>();
    long began = System.nanoTime();
    CheckReport report = null;
    String harnessError = null;
    RedisServer redis = null;
    Fleet fleet = null;
    HaProxy haproxy = null;
    EventLoopGroup group = null;
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "chaos-timer");
      t.setDaemon(true);
      return t;
    });
    List<ClientProxy> proxies = new ArrayList<>();
    Map<String, ChaosClient> clients = new LinkedHashMap<>();
    Backend backend = null;
    Nemesis nemesis = null;
    Workload workload = null;
    long trafficNanos = 0;
    try {
      phase("setup", "run " + runId);
      if (!Files.isReadable(options.gatewayJar())) {
        throw new IOException("gateway jar " + options.gatewayJar().toAbsolutePath()
            + " not found (build it: mvn -B -q -pl examples -am package -DskipTests)");
      }
      redis = new RedisServer(options.redisServer(), Ports.stablePort(), dir.resolve("redis.log"));
      track(redis);
      redis.start();
      Map<String, String> env = new LinkedHashMap<>();
      env.put("GATEWAY_HOST", "127.0.0.1");
      env.put("GATEWAY_JWT_SECRET", secret);
      env.put("GATEWAY_REDIS_URI", redis.uri());
      env.put("GATEWAY_REDIS_PREFIX", "chaos:" + runId + ":");
      env.put("GATEWAY_RABBIT_URI", options.rabbitUri());
      env.put("GATEWAY_RABBIT_PREFIX", prefix);
      env.put("GATEWAY_DRAIN_SPREAD_MS", Long.toString(DRAIN_SPREAD_MS));
      env.put("GATEWAY_DRAIN_DEADLINE_MS", Long.toString(DRAIN_DEADLINE_MS));
      fleet = new Fleet(GATEWAYS, runId, options.gatewayJar().toAbsolutePath(), GatewayNode.DEFAULT_JVM_FLAGS, env,
          logs);
      track(fleet);
      fleet.startAll(Duration.ofSeconds(120));
      List<Integer> ports = fleet.slots().stream().map(s -> s.node().port()).toList();
      haproxy = new HaProxy(options.haproxy(), dir, Ports.stablePort());
      track(haproxy);
      haproxy.start(ports);
      out.println("fleet up: " + fleet + ", HAProxy on " + haproxy.port());

      boolean epoll = Epoll.isAvailable();
      group = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("chaos-io", true),
          epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
      Class<? extends ServerChannel> serverType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
      Class<? extends SocketChannel> socketType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
      InetSocketAddress lb = new InetSocketAddress("127.0.0.1", haproxy.port());
      List<CompletableFuture<Void>> connected = new ArrayList<>();
      for (int i = 0; i < options.clients(); i++) {
        String user = workloadPlan.users().get(i);
        ClientProxy proxy = new ClientProxy(user, group, serverType, socketType, lb);
        proxies.add(proxy);
        ChaosClient cc = new ChaosClient(i, user, proxy, history, timer);
        GatewayClient gc = GatewayClient.builder()
            .uri(URI.create("ws://127.0.0.1:" + proxy.port() + "/ws"))
            .tokenSupplier(() -> CompletableFuture.completedFuture(token(user)))
            .listener(cc)
            .eventLoopGroup(group)
            .build();
        cc.attach(gc);
        clients.put(user, cc);
        connected.add(gc.connect().toCompletableFuture());
      }
      CompletableFuture.allOf(connected.toArray(new CompletableFuture<?>[0])).get(90, TimeUnit.SECONDS);
      List<CompletableFuture<Void>> subscribed = new ArrayList<>();
      for (Map.Entry<String, List<String>> e : workloadPlan.subscribers().entrySet()) {
        for (String user : e.getValue()) {
          subscribed.add(clients.get(user).subscribe(e.getKey()));
        }
      }
      CompletableFuture.allOf(subscribed.toArray(new CompletableFuture<?>[0])).get(90, TimeUnit.SECONDS);
      backend = new Backend(options.rabbitUri(), prefix + ".ingress", "chaos-backend-" + runId, history);
      backend.start();
      phases.put("setup", System.nanoTime() - began);

      nemesis = new Nemesis(fleet, redis, rabbit, proxies, history, out);
      workload = new Workload(workloadPlan, clients, backend, options.directInterval(), options.directBurst(),
          options.topicInterval(), options.topicBurst(), options.ingressInterval(), options.ingressBurst());
      phase("traffic", options.duration().toSeconds() + " s");
      long trafficStart = System.nanoTime();
      trafficAt = history.now();
      workload.start();
      nemesis.start(plan);
      // The run's length is the plan: traffic flows for the whole duration (an interrupt ends it early).
      interrupted.await(options.duration().toMillis(), TimeUnit.MILLISECONDS);
      workload.stop();
      trafficNanos = System.nanoTime() - trafficStart;
      phases.put("traffic", trafficNanos);

      long healStart = System.nanoTime();
      phase("heal", "");
      int stillRunning = nemesis.stop(Duration.ofSeconds(180));
      List<String> unhealed = nemesis.heal();
      if (stillRunning > 0 || !unhealed.isEmpty()) {
        out.println("heal: " + stillRunning + " faults cut short; not healed: " + unhealed);
      }
      phases.put("heal", System.nanoTime() - healStart);

      long quietStart = System.nanoTime();
      phase("quiet", "");
      quiet(clients, backend);
      phases.put("quiet", System.nanoTime() - quietStart);

      long checkStart = System.nanoTime();
      phase("check", "");
      report = new Checker(options.horizon()).check(history.snapshot());
      phases.put("check", System.nanoTime() - checkStart);
      if (workload.errors() > 0) {
        harnessError = "the workload threw " + workload.errors() + " times (see the console)";
      }
    } catch (Exception e) {
      StringWriter w = new StringWriter();
      e.printStackTrace(new PrintWriter(w));
      harnessError = w.toString();
      out.println("HARNESS ERROR: " + e);
    } finally {
      long teardownStart = System.nanoTime();
      if (workload != null) {
        quietly(workload::stop);
      }
      if (nemesis != null) {
        nemesis.close();
      }
      closeClients(clients);
      if (backend != null) {
        backend.close();
      }
      for (ClientProxy p : proxies) {
        quietly(p::close);
      }
      if (group != null) {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
      }
      timer.shutdownNow();
      killProcesses();
      List<String> cleanup = rabbit.cleanUp(prefix, fleet == null ? List.of() : fleet.instanceIds());
      if (!cleanup.isEmpty()) {
        out.println("RabbitMQ clean-up of " + prefix + " incomplete: " + cleanup);
      }
      phases.put("teardown", System.nanoTime() - teardownStart);
      Runtime.getRuntime().removeShutdownHook(hook);
    }

    List<Event> events = history.snapshot();
    HistoryFile.write(events, dir.resolve("history.jsonl"));
    Set<FaultKind> carriedOut = carriedOut(events);
    String summary = summary(dir, plan, report, harnessError, phases, System.nanoTime() - began, carriedOut,
        workload == null ? 0 : workload.skipped());
    if (report != null) {
      Files.writeString(dir.resolve("report.txt"), report.render(50));
    }
    Files.writeString(dir.resolve("summary.txt"), summary);
    appendResultLine(report, harnessError, plan, carriedOut, System.nanoTime() - began, dir);
    out.print(summary);
    return new ChaosResult(options.seed(), runId, dir, report, harnessError, plan.faults().size(), carriedOut, summary);
  }

  /** Cuts the traffic phase short (e.g. from a signal handler). */
  public void interrupt() {
    interrupted.countDown();
  }

  /**
   * The quiet period: every client connected again, every operation answered, then wait until nothing
   * acknowledged is outstanding and deliveries have settled, or nothing arrives for {@code quietIdle},
   * or {@code quietMax} passes.
   */
  private void quiet(Map<String, ChaosClient> clients, Backend backend) {
    long start = System.nanoTime();
    Duration max = options.quietMax();
    boolean allConnected = Poll.until(max, Duration.ofMillis(250),
        () -> clients.values().stream().allMatch(ChaosClient::connected));
    if (!allConnected) {
      out.println("quiet: not connected after " + max + ": " + clients.values().stream()
          .filter(c -> !c.connected()).map(c -> c.user() + " " + c.client()).toList());
    }
    Poll.until(Duration.ofSeconds(30), Duration.ofMillis(250), () -> backend.outstanding() == 0
        && clients.values().stream().mapToInt(ChaosClient::inFlight).sum() == 0);
    Checker checker = new Checker(options.horizon());
    long settle = Duration.ofSeconds(2).toNanos();
    long idleLimit = options.quietIdle().toNanos();
    long waitFrom = history.now();
    long[] outstanding = {-1};
    Duration left = max.minusNanos(System.nanoTime() - start);
    Poll.until(left.isNegative() ? Duration.ZERO : left, Duration.ofSeconds(2), () -> {
      long idle = history.now() - Math.max(history.lastDeliveryAt(), waitFrom);
      outstanding[0] = checker.outstanding(history.snapshot());
      return (outstanding[0] == 0 && idle >= settle) || idle >= idleLimit;
    });
    out.println("quiet: " + History.seconds(System.nanoTime() - start) + ", acknowledged but not delivered: "
        + outstanding[0]);
  }

  private void closeClients(Map<String, ChaosClient> clients) {
    // close() blocks up to about 2 s per client: in parallel (the common pool has one thread on 2 cores).
    java.util.concurrent.ExecutorService closer = Executors.newFixedThreadPool(8);
    try {
      List<CompletableFuture<Void>> closing = new ArrayList<>();
      for (ChaosClient c : clients.values()) {
        closing.add(CompletableFuture.runAsync(c::close, closer));
      }
      CompletableFuture.allOf(closing.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      out.println("closing clients: " + e);
    } finally {
      closer.shutdownNow();
    }
  }

  private String token(String user) {
    JWTClaimsSet claims = new JWTClaimsSet.Builder().subject(user).claim("topics", List.of(WorkloadPlan.TOPIC_PREFIX
        + "*")).expirationTime(Date.from(Instant.now().plus(Duration.ofHours(2)))).build();
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
    try {
      jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a token: " + e.getMessage(), e);
    }
    return jwt.serialize();
  }

  private void phase(String name, String detail) {
    history.add(new Event.Phase(history.now(), name, detail));
    out.println("[" + History.seconds(history.now()) + "] phase " + name + (detail.isEmpty() ? "" : ": " + detail));
  }

  private synchronized void track(AutoCloseable process) {
    processes.add(process);
  }

  /** Stops every child process (gateways, HAProxy, Redis); also the JVM's shutdown hook. Idempotent. */
  private synchronized void killProcesses() {
    for (int i = processes.size() - 1; i >= 0; i--) {
      AutoCloseable p = processes.get(i);
      quietly(p::close);
    }
  }

  private interface Step {
    void run() throws Exception;
  }

  private void quietly(Step step) {
    try {
      step.run();
    } catch (Exception e) {
      out.println("teardown: " + e);
    }
  }

  private static Set<FaultKind> carriedOut(List<Event> events) {
    Set<FaultKind> kinds = EnumSet.noneOf(FaultKind.class);
    for (Event e : events) {
      if (e instanceof Event.FaultEnded f && f.ok()) {
        kinds.add(FaultKind.valueOf(f.kind()));
      }
    }
    return kinds;
  }

  private String summary(Path dir, FaultPlan plan, CheckReport report, String harnessError, Map<String, Long> phases,
      long total, Set<FaultKind> carriedOut, long skipped) {
    StringBuilder b = new StringBuilder();
    b.append("\n==== chaos run ").append(runId).append(", seed ").append(options.seed()).append(" ====\n");
    b.append("replay: gateway-chaos/chaos.sh --seed ").append(options.seed()).append(" --duration ")
        .append(options.duration().toSeconds()).append(" --clients ").append(options.clients()).append('\n');
    b.append("directory: ").append(dir).append('\n');
    b.append("run started at ").append(startedAt).append(" (wall clock, as in the gateways' logs)");
    if (trafficAt >= 0) {
      b.append("; times below are seconds since then; traffic (and the schedule's clock) began at ")
          .append(History.seconds(trafficAt));
    }
    b.append('\n');
    b.append("run time: ").append(History.seconds(total));
    phases.forEach((k, v) -> b.append(", ").append(k).append(' ').append(History.seconds(v)));
    b.append('\n');
    b.append("faults planned: ").append(plan.faults().size()).append("; kinds carried out: ").append(carriedOut);
    Set<FaultKind> missing = EnumSet.copyOf(options.faultKinds());
    missing.removeAll(carriedOut);
    if (!missing.isEmpty()) {
      b.append("; NOT carried out: ").append(missing);
    }
    b.append("\nworkload turns skipped (too much in flight): ").append(skipped).append('\n');
    if (harnessError != null) {
      b.append("HARNESS ERROR:\n").append(harnessError).append('\n');
    }
    if (report != null) {
      b.append(report.render(EXAMPLES));
    }
    return b.toString();
  }

  private void appendResultLine(CheckReport r, String harnessError, FaultPlan plan, Set<FaultKind> carriedOut,
      long total, Path dir) {
    String verdict = harnessError != null ? "ERROR" : r == null ? "ERROR" : r.ok() ? "PASS" : "FAIL";
    String line = String.join("\t", Instant.now().toString(), Long.toString(options.seed()),
        Long.toString(options.duration().toSeconds()), Integer.toString(options.clients()), verdict,
        r == null ? "-" : Long.toString(r.total().lost()), r == null ? "-" : Long.toString(r.total().duplicates()),
        r == null ? "-" : Long.toString(r.total().reordered()), r == null ? "-" : Long.toString(r.total().misdelivered()),
        r == null ? "-" : Long.toString(r.total().invoked()), r == null ? "-" : Long.toString(r.total().deliveries()),
        Integer.toString(plan.faults().size()), Integer.toString(carriedOut.size()),
        r == null ? "-" : Integer.toString(Math.max(0, r.connects() - r.users())),
        r == null ? "-" : History.seconds(r.total().worstDelay()), History.seconds(total), dir.toString()) + "\n";
    Path results = options.outDir().resolve("results.tsv");
    try {
      if (!Files.exists(results)) {
        Files.writeString(results, "time\tseed\tduration_s\tclients\tverdict\tlost\tduplicated\treordered\t"
            + "misdelivered\tmessages\tdeliveries\tfaults\tfault_kinds\treconnects\tworst_delay\trun_time\tdir\n");
      }
      Files.writeString(results, line, StandardOpenOption.APPEND);
    } catch (IOException e) {
      out.println("cannot append to " + results + ": " + e);
    }
  }
}
