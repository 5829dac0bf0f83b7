package io.wsgateway.chaos.workload;

import io.wsgateway.chaos.history.StreamKind;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Drives the three streams at fixed rates: each client sends a burst to its next peer every
 * {@code directInterval}, each topic publisher a burst every {@code topicInterval}, and the backend a
 * burst to its next user every {@code ingressInterval}. Clients start staggered over the interval. A
 * client with too many operations in flight skips its turn (counted), so a long outage does not pile
 * up work; the backend does the same with unconfirmed publishes. Stream counters live on the driving
 * threads (one for clients, one for the backend), so each stream is numbered in invocation order.
 */
public final class Workload {

  /** A client skips its turn beyond this many operations in flight (its queue while disconnected). */
  static final int MAX_IN_FLIGHT_PER_CLIENT = 200;
  /** The backend skips its turn beyond this many unconfirmed publishes. */
  static final int MAX_UNCONFIRMED = 2_000;

  private final WorkloadPlan plan;
  private final Map<String, ChaosClient> clients;
  private final Backend backend;
  private final Duration directInterval;
  private final int directBurst;
  private final Duration topicInterval;
  private final int topicBurst;
  private final Duration ingressInterval;
  private final int ingressBurst;
  private final ScheduledExecutorService clientDriver = Executors.newSingleThreadScheduledExecutor(
      r -> new Thread(r, "chaos-workload"));
  private final ScheduledExecutorService backendDriver = Executors.newSingleThreadScheduledExecutor(
      r -> new Thread(r, "chaos-backend"));
  // Confined to clientDriver, and to backendDriver for the backend's streams.
  private final Map<String, Long> counters = new HashMap<>();
  private final Map<String, Long> backendCounters = new HashMap<>();
  private final Map<String, Integer> turns = new HashMap<>();
  private int ingressTurn;
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();

  public Workload(WorkloadPlan plan, Map<String, ChaosClient> clients, Backend backend, Duration directInterval,
      int directBurst, Duration topicInterval, int topicBurst, Duration ingressInterval, int ingressBurst) {
    this.plan = plan;
    this.clients = clients;
    this.backend = backend;
    this.directInterval = directInterval;
    this.directBurst = directBurst;
    this.topicInterval = topicInterval;
    this.topicBurst = topicBurst;
    this.ingressInterval = ingressInterval;
    this.ingressBurst = ingressBurst;
  }

  /** Starts every stream. */
  public void start() {
    List<String> users = plan.users();
    long directMillis = directInterval.toMillis();
    for (int i = 0; i < users.size() && directBurst > 0; i++) {
      String user = users.get(i);
      clientDriver.scheduleAtFixedRate(safely(() -> directTurn(user)), directMillis * i / users.size(), directMillis,
          TimeUnit.MILLISECONDS);
    }
    long topicMillis = topicInterval.toMillis();
    int k = 0;
    int publishers = plan.publishers().values().stream().mapToInt(List::size).sum();
    for (Map.Entry<String, List<String>> e : plan.publishers().entrySet()) {
      for (String publisher : e.getValue()) {
        String topic = e.getKey();
        clientDriver.scheduleAtFixedRate(safely(() -> topicTurn(publisher, topic)), topicMillis * k++ / publishers,
            topicMillis, TimeUnit.MILLISECONDS);
      }
    }
    if (ingressBurst > 0) {
      backendDriver.scheduleAtFixedRate(safely(this::ingressTurn), 0, ingressInterval.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Stops invoking new operations; returns when no turn is running any more. */
  public void stop() throws InterruptedException {
    clientDriver.shutdown();
    backendDriver.shutdown();
    clientDriver.awaitTermination(30, TimeUnit.SECONDS);
    backendDriver.awaitTermination(30, TimeUnit.SECONDS);
  }

  /** Turns skipped because too much was in flight. */
  public long skipped() {
    return skipped.get();
  }

  /** Turns that threw (a harness bug); the stream goes on, and the run reports it. */
  public long errors() {
    return errors.get();
  }

  /** A periodic task dies on its first exception: count it and go on instead. */
  private Runnable safely(Runnable turn) {
    return () -> {
      try {
        turn.run();
      } catch (RuntimeException e) {
        if (errors.getAndIncrement() == 0) {
          e.printStackTrace();
        }
      }
    };
  }

  private void directTurn(String user) {
    ChaosClient c = clients.get(user);
    if (c.inFlight() > MAX_IN_FLIGHT_PER_CLIENT) {
      skipped.incrementAndGet();
      return;
    }
    List<String> peers = plan.peers(user);
    int turn = turns.merge(user, 1, Integer::sum) - 1;
    String to = peers.get(turn % peers.size());
    for (int i = 0; i < directBurst; i++) {
      c.send(Payload.of(StreamKind.DIRECT, user, to, next(counters, "d|" + user + "|" + to)));
    }
  }

  private void topicTurn(String publisher, String topic) {
    ChaosClient c = clients.get(publisher);
    if (c.inFlight() > MAX_IN_FLIGHT_PER_CLIENT) {
      skipped.incrementAndGet();
      return;
    }
    for (int i = 0; i < topicBurst; i++) {
      c.publish(Payload.of(StreamKind.TOPIC, publisher, topic, next(counters, "t|" + publisher + "|" + topic)));
    }
  }

  private void ingressTurn() {
    if (backend.outstanding() > MAX_UNCONFIRMED) {
      skipped.incrementAndGet();
      return;
    }
    List<String> order = plan.ingressOrder();
    String to = order.get(ingressTurn++ % order.size());
    for (int i = 0; i < ingressBurst; i++) {
      backend.publish(Payload.of(StreamKind.INGRESS, Backend.NAME, to, next(backendCounters, to)));
    }
  }

  private static long next(Map<String, Long> counters, String stream) {
    return counters.merge(stream, 1L, Long::sum);
  }
}
