package io.wsgateway.chaos.faults;

import io.wsgateway.chaos.env.Fleet;
import io.wsgateway.chaos.env.RabbitAdmin;
import io.wsgateway.testkit.RedisServer;
import io.wsgateway.chaos.history.Event;
import io.wsgateway.chaos.history.History;
import io.wsgateway.chaos.net.ClientProxy;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Carries out a {@link FaultPlan} against the running cluster: each fault is launched at its planned
 * time on a thread of its own, so faults overlap as planned, and records its start and end in the
 * history (what it did to which instance, client or server, and whether it went as planned). At run
 * time it enforces again what the plan assumed: one fault per gateway slot, one Redis fault at a time,
 * and at least one gateway serving before another is taken down; a fault that cannot wait long enough
 * for that is skipped and reported. The waits inside a fault (downtime, pause, cut) are its planned
 * length, cut short by {@link #abort()}.
 */
public final class Nemesis implements AutoCloseable {

  /** How long a gateway fault waits for its slot, or for another gateway to serve, before it is skipped. */
  static final Duration WAIT_FOR_PRECONDITION = Duration.ofSeconds(90);
  /** How long a gateway may take to start and answer {@code /ready}. */
  static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  /** Start attempts of a gateway (its Redis may be down or paused at that moment). */
  static final int START_ATTEMPTS = 3;
  /** SIGTERM drain: the harness's drain deadline (8 s) plus the close's hand-over wait (5 s) plus a margin. */
  static final Duration SIGTERM_EXIT_TIMEOUT = Duration.ofSeconds(40);
  /** Admin drain: the default deadline (30 s) plus a margin, until the state says drained. */
  static final Duration ADMIN_DRAIN_TIMEOUT = Duration.ofSeconds(40);

  private final Fleet fleet;
  private final RedisServer redis;
  private final RabbitAdmin rabbit;
  private final List<ClientProxy> proxies;
  private final History history;
  private final PrintStream log;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
      r -> new Thread(r, "chaos-nemesis-timer"));
  private final ExecutorService workers = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "chaos-nemesis");
    t.setDaemon(true);
    return t;
  });
  private final List<Future<?>> launched = new ArrayList<>(); // guarded by itself
  private final CountDownLatch aborted = new CountDownLatch(1);
  private final ReentrantLock redisLock = new ReentrantLock();
  private final Map<Integer, AtomicInteger> cuts = new ConcurrentHashMap<>();
  private long planSeed;

  public Nemesis(Fleet fleet, RedisServer redis, RabbitAdmin rabbit, List<ClientProxy> proxies, History history,
      PrintStream log) {
    this.fleet = fleet;
    this.redis = redis;
    this.rabbit = rabbit;
    this.proxies = List.copyOf(proxies);
    this.history = history;
    this.log = log;
  }

  /** Schedules every fault of {@code plan} relative to now. */
  public void start(FaultPlan plan) {
    planSeed = plan.seed();
    for (Fault f : plan.faults()) {
      timer.schedule(() -> {
        synchronized (launched) {
          launched.add(workers.submit(() -> execute(f)));
        }
      }, f.atMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Launches no more faults and waits up to {@code timeout} for the running ones to end; then cuts
   * their waits short ({@link #abort()}) and waits a little more. Returns how many were still running.
   */
  public int stop(Duration timeout) throws InterruptedException {
    timer.shutdownNow();
    long deadline = System.nanoTime() + timeout.toNanos();
    List<Future<?>> all;
    synchronized (launched) {
      all = new ArrayList<>(launched);
    }
    int running = 0;
    for (Future<?> f : all) {
      long left = deadline - System.nanoTime();
      try {
        f.get(Math.max(1, left), TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        running++;
      } catch (java.util.concurrent.ExecutionException e) {
        // execute() records its own failures
      }
    }
    if (running > 0) {
      abort();
      workers.shutdown();
      workers.awaitTermination(60, TimeUnit.SECONDS);
    }
    return running;
  }

  /** Cuts every fault's remaining wait short. */
  public void abort() {
    aborted.countDown();
  }

  /**
   * Ends every lasting fault: clients' networks healed, Redis running and resumed, every gateway slot
   * that is down (not killed for good) started again. Returns what could not be healed, empty if all.
   */
  public List<String> heal() {
    List<String> problems = new ArrayList<>();
    for (ClientProxy p : proxies) {
      p.heal();
    }
    cuts.clear();
    try {
      if (!redis.running()) {
        redis.start();
      } else {
        redis.resume();
      }
    } catch (IOException e) {
      problems.add("redis: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      problems.add("redis: interrupted");
    }
    for (Fleet.Slot s : fleet.slots()) {
      if (s.state() == Fleet.State.DEAD || s.node().alive()) {
        continue;
      }
      try {
        startWithRetry(s, s.node().instanceId());
      } catch (IOException e) {
        problems.add("slot " + (s.index() + 1) + ": " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        problems.add("slot " + (s.index() + 1) + ": interrupted");
        break;
      }
    }
    return problems;
  }

  @Override
  public void close() {
    abort();
    timer.shutdownNow();
    workers.shutdownNow();
  }

  // ---- one fault

  /** A fault that could not be carried out; it ends not-ok with this reason. */
  private static final class Skip extends Exception {
    private static final long serialVersionUID = 1L;

    Skip(String reason) {
      super(reason, null, false, false);
    }
  }

  private void execute(Fault f) {
    Started started = new Started(f);
    String detail;
    boolean ok;
    try {
      detail = switch (f.kind()) {
        case DRAIN_RESTART, KILL_RESTART, KILL_FOR_GOOD -> gatewayFault(f, started);
        case REDIS_RESTART_EMPTY, REDIS_PAUSE -> redisFault(f, started);
        case RABBIT_CLOSE -> rabbitClose(f, started);
        case CLIENT_CUT -> clientCut(f, started);
        case CLIENT_CHURN -> clientChurn(f, started);
      };
      ok = true;
    } catch (Skip s) {
      detail = "skipped: " + s.getMessage();
      ok = false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      detail = "interrupted";
      ok = false;
    } catch (Exception e) {
      detail = "failed: " + e;
      ok = false;
    }
    if (!started.recorded) {
      started.record("-", "");
    }
    history.add(new Event.FaultEnded(history.now(), f.index(), f.kind().name(), started.target, detail, ok));
    log.printf("[%s] fault #%d %s %s ended%s: %s%n", History.seconds(history.now()), f.index(), f.kind(), started.target,
        ok ? "" : " NOT AS PLANNED", detail);
  }

  /** Records the fault's start once it takes effect (after its preconditions held). */
  private final class Started {
    final Fault fault;
    String target = "-";
    boolean recorded;

    Started(Fault fault) {
      this.fault = fault;
    }

    void record(String target, String detail) {
      this.target = target;
      this.recorded = true;
      history.add(new Event.FaultStarted(history.now(), fault.index(), fault.kind().name(), target, detail));
      log.printf("[%s] fault #%d %s %s %s%n", History.seconds(history.now()), fault.index(), fault.kind(), target,
          detail);
    }
  }

  private String gatewayFault(Fault f, Started started) throws Exception {
    Fleet.Slot slot = fleet.slot(f.slot());
    long asked = System.nanoTime();
    if (!slot.owner().tryAcquire(WAIT_FOR_PRECONDITION.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new Skip("slot " + (f.slot() + 1) + " busy with another fault for " + WAIT_FOR_PRECONDITION);
    }
    try {
      if (slot.state() == Fleet.State.DEAD) {
        throw new Skip("slot " + (f.slot() + 1) + " was killed for good");
      }
      if (!io.wsgateway.chaos.env.Poll.until(WAIT_FOR_PRECONDITION, Duration.ofMillis(250),
          () -> slot.state() == Fleet.State.SERVING)) {
        throw new Skip("slot " + (f.slot() + 1) + " not serving (" + slot.state() + ")");
      }
      if (!fleet.awaitOtherServing(f.slot(), WAIT_FOR_PRECONDITION)) {
        throw new Skip("no other gateway serving: taking slot " + (f.slot() + 1) + " down would leave none");
      }
      long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - asked);
      String id = slot.node().instanceId();
      String target = "slot " + (f.slot() + 1) + " (" + id + ")";
      String delay = waited > 1_000 ? " (started " + History.seconds(waited * 1_000_000L) + " late)" : "";
      switch (f.kind()) {
        case DRAIN_RESTART -> {
          started.record(target, f.variant() + delay);
          slot.state(Fleet.State.DRAINING);
          int exit;
          if (f.variant().equals("admin")) {
            int status = slot.node().postDrain();
            boolean drained = io.wsgateway.chaos.env.Poll.until(ADMIN_DRAIN_TIMEOUT, Duration.ofMillis(250),
                () -> !slot.node().alive() || "drained".equals(slot.node().adminState()));
            exit = slot.node().terminate(SIGTERM_EXIT_TIMEOUT);
            slot.state(Fleet.State.DOWN);
            String restarted = startWithRetry(slot, id);
            return "POST /admin/drain " + status + (drained ? ", drained" : ", NOT drained within "
                + ADMIN_DRAIN_TIMEOUT) + ", exit " + exit + ", " + restarted;
          }
          exit = slot.node().terminate(SIGTERM_EXIT_TIMEOUT);
          slot.state(Fleet.State.DOWN);
          return "SIGTERM, exit " + exit + (exit == -1 ? " (killed after " + SIGTERM_EXIT_TIMEOUT + ")" : "") + ", "
              + startWithRetry(slot, id);
        }
        case KILL_RESTART -> {
          started.record(target, "down " + History.seconds(f.durationMillis() * 1_000_000L) + delay);
          slot.state(Fleet.State.DOWN);
          slot.node().kill();
          pause(f.durationMillis());
          return startWithRetry(slot, id);
        }
        default -> {
          started.record(target, f.variant() + (f.variant().equals("replace") ? " after "
              + History.seconds(f.durationMillis() * 1_000_000L) : "") + delay);
          slot.state(Fleet.State.DOWN);
          slot.node().kill();
          if (f.variant().equals("none")) {
            slot.state(Fleet.State.DEAD);
            return "killed for good, slot left empty";
          }
          pause(f.durationMillis());
          String replacement = fleet.replacementId();
          return "replaced by " + replacement + ", " + startWithRetry(slot, replacement);
        }
      }
    } finally {
      slot.owner().release();
    }
  }

  /** Starts {@code id} in {@code slot}, retrying; returns a note on how it went. */
  private String startWithRetry(Fleet.Slot slot, String id) throws IOException, InterruptedException {
    long begin = System.nanoTime();
    IOException last = null;
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      try {
        fleet.start(slot, id, START_TIMEOUT);
        return "ready again in " + History.seconds(System.nanoTime() - begin)
            + (attempt > 1 ? " (attempt " + attempt + "; before: " + firstLine(last) + ")" : "");
      } catch (IOException e) {
        last = e;
        slot.node().kill();
        log.printf("[%s] %s did not start (attempt %d): %s%n", History.seconds(history.now()), id, attempt,
            firstLine(e));
        pause(2_000);
      }
    }
    throw new IOException(id + " did not start in " + START_ATTEMPTS + " attempts", last);
  }

  private static String firstLine(Exception e) {
    String m = String.valueOf(e == null ? null : e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  private String redisFault(Fault f, Started started) throws Exception {
    if (!redisLock.tryLock(WAIT_FOR_PRECONDITION.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new Skip("another Redis fault ran for " + WAIT_FOR_PRECONDITION);
    }
    try {
      String d = History.seconds(f.durationMillis() * 1_000_000L);
      if (f.kind() == FaultKind.REDIS_PAUSE) {
        started.record("redis :" + redis.port(), "SIGSTOP for " + d);
        redis.pause();
        pause(f.durationMillis());
        redis.resume();
        return "SIGCONT";
      }
      started.record("redis :" + redis.port(), "kill -9, empty again after " + d);
      redis.kill();
      pause(f.durationMillis());
      redis.start();
      return "started empty";
    } finally {
      redisLock.unlock();
    }
  }

  private String rabbitClose(Fault f, Started started) throws Exception {
    List<String> ids = new ArrayList<>();
    for (int s : f.slots()) {
      Fleet.Slot slot = fleet.slot(s);
      if (slot.node().alive()) {
        ids.add(slot.node().instanceId());
      }
    }
    if (ids.isEmpty()) {
      throw new Skip("none of slots " + f.slots().stream().map(s -> s + 1).toList() + " has a live gateway");
    }
    // Listing takes rabbitmqctl a second or so: the fault starts when the first close is issued.
    List<RabbitAdmin.GatewayConnection> found = rabbit.find(ids);
    if (found.isEmpty()) {
      throw new Skip("no RabbitMQ connection found for " + ids);
    }
    started.record(String.join(",", ids), "rabbitmqctl close_connection");
    List<String> closed = new ArrayList<>();
    for (RabbitAdmin.GatewayConnection c : found) {
      rabbit.close(c);
      closed.add(c.name() + " at " + History.seconds(history.now()));
    }
    return "closed " + closed;
  }

  private String clientCut(Fault f, Started started) throws Exception {
    started.record("clients " + f.clients(), f.variant() + " for " + History.seconds(f.durationMillis() * 1_000_000L));
    for (int c : f.clients()) {
      cuts.computeIfAbsent(c, k -> new AtomicInteger()).incrementAndGet();
      ClientProxy p = proxies.get(c);
      if (f.variant().equals("reset")) {
        p.reset(true);
      } else {
        p.stall();
      }
    }
    pause(f.durationMillis());
    for (int c : f.clients()) {
      ClientProxy p = proxies.get(c);
      if (f.variant().equals("stall-reset")) {
        p.reset(false);
      }
      // An overlapping cut of the same client keeps it cut until that one ends too.
      AtomicInteger n = cuts.get(c);
      if (n == null || n.decrementAndGet() <= 0) {
        p.heal();
      }
    }
    return "healed";
  }

  private String clientChurn(Fault f, Started started) throws Exception {
    // Per-client choices follow from the plan's seed and the fault's index: the same seed, the same churn.
    Random r = new Random(planSeed * 31 + f.index());
    List<String> what = new ArrayList<>();
    started.record("clients " + f.clients(), f.variant() + " over " + History.seconds(f.durationMillis() * 1_000_000L));
    CountDownLatch done = new CountDownLatch(f.clients().size());
    for (int c : f.clients()) {
      long delay = (long) (r.nextDouble() * f.durationMillis());
      boolean hint = f.variant().equals("hint") || (f.variant().equals("mixed") && r.nextBoolean());
      ClientProxy p = proxies.get(c);
      timer(delay, () -> {
        try {
          if (hint) {
            int n = p.injectReconnect();
            synchronized (what) {
              what.add(c + (n > 0 ? ":hint" : ":hint(no connection)"));
            }
          } else {
            p.closeAbruptly();
            synchronized (what) {
              what.add(c + ":abrupt");
            }
          }
        } finally {
          done.countDown();
        }
      });
    }
    done.await(f.durationMillis() + 10_000, TimeUnit.MILLISECONDS);
    synchronized (what) {
      return String.join(" ", what);
    }
  }

  /** Runs {@code action} after {@code delayMillis} on a worker (the plan's timer may already be stopped). */
  private void timer(long delayMillis, Runnable action) {
    workers.submit(() -> {
      try {
        pause(delayMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      action.run();
    });
  }

  /** Waits a fault's planned length, or less if the run is aborted. */
  private void pause(long millis) throws InterruptedException {
    if (millis > 0) {
      aborted.await(millis, TimeUnit.MILLISECONDS);
    }
  }
}
