package io.wsgateway.chaos.env;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway slots behind HAProxy: each slot is a fixed port pair that a {@link GatewayNode} runs on,
 * restarted with the same instance id or replaced by a new one. Tracks what each slot is doing, so
 * the nemesis keeps at least one gateway serving. Thread-safe.
 */
public final class Fleet implements AutoCloseable {

  /** What a slot is doing. */
  public enum State {
    /** Its process is starting and not yet ready. */
    STARTING,
    /** Ready: it takes new clients. */
    SERVING,
    /** Being drained or stopped: it takes no new clients. */
    DRAINING,
    /** No process (killed or exited), to be started again. */
    DOWN,
    /** Killed for good: no process, and none will start. */
    DEAD
  }

  /** One slot. */
  public static final class Slot {
    private final int index;
    private final GatewayNode node;
    private volatile State state = State.DOWN;
    /** Held by the fault acting on this slot: one fault per slot at a time. */
    private final Semaphore owner = new Semaphore(1);

    Slot(int index, GatewayNode node) {
      this.index = index;
      this.node = node;
    }

    public int index() {
      return index;
    }

    public GatewayNode node() {
      return node;
    }

    public State state() {
      return state;
    }

    public void state(State s) {
      this.state = s;
    }

    /** The slot's lock for a fault: one fault per slot at a time. */
    public Semaphore owner() {
      return owner;
    }

    @Override
    public String toString() {
      return "slot " + (index + 1) + " (" + node.instanceId() + ", " + state + ")";
    }
  }

  private final String runId;
  private final List<Slot> slots;
  private final List<String> instanceIds = new CopyOnWriteArrayList<>();
  private final AtomicInteger nextId;

  /**
   * @param env the example's variables shared by all instances
   */
  public Fleet(int size, String runId, Path jar, List<String> jvmFlags, Map<String, String> env, Path logDir)
      throws IOException {
    this.runId = runId;
    List<Slot> list = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      list.add(new Slot(i, new GatewayNode(jar, jvmFlags, env, logDir, Ports.stablePort(), Ports.stablePort())));
    }
    this.slots = Collections.unmodifiableList(list);
    this.nextId = new AtomicInteger(size + 1);
  }

  public List<Slot> slots() {
    return slots;
  }

  public Slot slot(int index) {
    return slots.get(index);
  }

  /** The first instance id of slot {@code index}: {@code g<index+1>-<runId>}. */
  public String initialId(int index) {
    return "g" + (index + 1) + "-" + runId;
  }

  /** A new instance id for a replacement: {@code g4-<runId>}, {@code g5-...}. */
  public String replacementId() {
    return "g" + nextId.getAndIncrement() + "-" + runId;
  }

  /** Every instance id that ran in this fleet (for clean-up of their RabbitMQ inboxes). */
  public List<String> instanceIds() {
    return List.copyOf(instanceIds);
  }

  /** Starts every slot with its initial id, in parallel. */
  public void startAll(Duration timeout) throws IOException {
    // One thread per slot: the common pool has a single thread on a 2-core host.
    java.util.concurrent.ExecutorService starter = java.util.concurrent.Executors.newFixedThreadPool(slots.size());
    try {
      List<CompletableFuture<Void>> started = new ArrayList<>();
      for (Slot s : slots) {
        started.add(CompletableFuture.runAsync(() -> {
          try {
            start(s, initialId(s.index), timeout);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }, starter));
      }
      CompletableFuture.allOf(started.toArray(new CompletableFuture<?>[0])).join();
    } catch (java.util.concurrent.CompletionException e) {
      throw e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : new IOException(e.getCause());
    } finally {
      starter.shutdownNow();
    }
  }

  /** Starts {@code id} in {@code slot}; the slot is {@link State#SERVING} on return. */
  public void start(Slot slot, String id, Duration timeout) throws IOException {
    slot.state(State.STARTING);
    instanceIds.add(id);
    try {
      slot.node.start(id, timeout);
      slot.state(State.SERVING);
    } catch (IOException | RuntimeException e) {
      slot.state(State.DOWN);
      throw e;
    }
  }

  /** Slots serving now, other than {@code except}, confirmed by their {@code /ready}. */
  public int servingOthers(int except) {
    int n = 0;
    for (Slot s : slots) {
      if (s.index != except && s.state == State.SERVING && s.node.ready()) {
        n++;
      }
    }
    return n;
  }

  /** Waits until another slot than {@code slot} serves; false after {@code timeout}. */
  public boolean awaitOtherServing(int slot, Duration timeout) {
    return Poll.until(timeout, Duration.ofMillis(250), () -> servingOthers(slot) > 0);
  }

  @Override
  public void close() throws InterruptedException {
    for (Slot s : slots) {
      s.node.kill();
    }
  }

  @Override
  public String toString() {
    return slots.toString();
  }
}
