package io.wsgateway.examples.rolling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.client.ClientListener;
import io.wsgateway.client.ClientMessage;
import io.wsgateway.client.ClientState;
import io.wsgateway.client.GatewayClient;
import io.wsgateway.netty.testing.Await;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The headline promise, end to end: three example gateways (separate JVMs, Redis registry and
 * recovery store, RabbitMQ broker) behind a real HAProxy, clients on the Java client receiving
 * numbered streams from a backend (through ingress) and from each other, while the instances are
 * restarted one by one. Sizes come from system properties so {@code benchmarks/rolling-restart.sh}
 * can run it larger: {@code rolling.clients} (default 200), {@code rolling.roundMillis} (500).
 */
@DisplayName("A fleet behind HAProxy")
class RollingRestartTest {

  static final int CLIENTS = Integer.getInteger("rolling.clients", 200);
  static final long ROUND_MILLIS = Long.getLong("rolling.roundMillis", 500);
  static final ObjectMapper JSON = new ObjectMapper();

  final String runId = UUID.randomUUID().toString().substring(0, 8);
  final String redisPrefix = "wsgwtest:" + runId + ":";
  final String rabbitPrefix = "wsgwtest." + runId;
  final String secret = "rolling-secret-" + UUID.randomUUID();
  final List<GatewayProcess> gateways = new ArrayList<>();
  final List<GatewayClient> clients = new ArrayList<>();
  final List<Receiver> receivers = new ArrayList<>();
  Process haproxy;
  int lbPort;
  Path workDir;
  EventLoopGroup clientLoops;
  ScheduledExecutorService load;
  Connection amqp;

  /** What one client received, by source, in arrival order, and how its reconnects went. */
  static final class Receiver implements ClientListener {
    final Map<String, List<Integer>> bySource = new ConcurrentHashMap<>();
    final List<Long> reconnectMillis = new CopyOnWriteArrayList<>();
    final List<Long> reconnectAt = new CopyOnWriteArrayList<>();
    final List<String> errors = new CopyOnWriteArrayList<>();
    volatile long disconnectedAt;

    @Override
    public void onMessage(ClientMessage m) {
      try {
        JsonNode data = JSON.readTree(m.data());
        bySource.computeIfAbsent(data.path("src").asText(), s -> Collections.synchronizedList(new ArrayList<>()))
            .add(data.path("n").asInt());
      } catch (IOException e) {
        errors.add("unreadable " + m.data());
      }
    }

    @Override
    public void onStateChanged(ClientState from, ClientState to) {
      long now = System.nanoTime();
      if (from == ClientState.CONNECTED) {
        disconnectedAt = now;
        reconnectAt.add(System.currentTimeMillis());
      } else if (to == ClientState.CONNECTED && disconnectedAt != 0) {
        reconnectMillis.add(TimeUnit.NANOSECONDS.toMillis(now - disconnectedAt));
        disconnectedAt = 0;
      }
    }

    @Override
    public void onError(String code, String message) {
      errors.add(code + ": " + message);
    }

    List<Integer> from(String source) {
      List<Integer> l = bySource.get(source);
      if (l == null) {
        return List.of();
      }
      synchronized (l) {
        return List.copyOf(l);
      }
    }
  }

  @BeforeEach
  void startFleet() throws Exception {
    assertTrue(new File("/usr/sbin/haproxy").canExecute() || which("haproxy"),
        "haproxy is required (apt-get install haproxy; .ci/run installs it)");
    workDir = Files.createDirectories(Path.of("target", "rolling-" + runId));
    Map<String, String> env = new HashMap<>();
    env.put("GATEWAY_HOST", "127.0.0.1");
    env.put("GATEWAY_JWT_SECRET", secret);
    env.put("GATEWAY_REDIS_URI", "redis://127.0.0.1:6379");
    env.put("GATEWAY_REDIS_PREFIX", redisPrefix);
    env.put("GATEWAY_RABBIT_URI", "amqp://guest:guest@127.0.0.1:5672");
    env.put("GATEWAY_RABBIT_PREFIX", rabbitPrefix);
    env.put("GATEWAY_DRAIN_SPREAD_MS", "2000");
    env.put("GATEWAY_DRAIN_DEADLINE_MS", "15000");
    for (int i = 1; i <= 3; i++) {
      GatewayProcess g = new GatewayProcess("g" + i + "-" + runId, freePort(), env, workDir.toFile());
      gateways.add(g);
    }
    for (GatewayProcess g : gateways) {
      g.start();
    }
    lbPort = freePort();
    StringBuilder cfg = new StringBuilder()
        .append("global\n  maxconn 8000\n") // each connection takes two descriptors; the hard limit is 20,000

        .append("defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n")
        .append("  timeout tunnel 1h\n  option http-server-close\n")
        .append("frontend ws\n  bind 127.0.0.1:").append(lbPort).append("\n  default_backend gateways\n")
        .append("backend gateways\n  balance leastconn\n  option httpchk GET /ready\n")
        .append("  http-check expect status 200\n  default-server inter 300ms fall 1 rise 1\n")
        // Checks every 300 ms see a drain quickly; but a check times out after "inter" unless told,
        // and on a busy CI host a survivor may take longer to answer: all down, every handshake 503.
        .append("  timeout check 1s\n");
    for (GatewayProcess g : gateways) {
      cfg.append("  server ").append(g.instanceId).append(" 127.0.0.1:").append(g.port).append(" check\n");
    }
    Path cfgFile = workDir.resolve("haproxy.cfg");
    Files.writeString(cfgFile, cfg);
    haproxy = new ProcessBuilder("haproxy", "-f", cfgFile.toString(), "-db").redirectErrorStream(true)
        .redirectOutput(workDir.resolve("haproxy.log").toFile()).start();
    Await.until("HAProxy routes to a ready gateway", () -> {
      if (!haproxy.isAlive()) {
        throw new AssertionError("haproxy exited; see " + workDir.resolve("haproxy.log"));
      }
      try {
        return io.wsgateway.netty.testing.RawWebSocket.get(lbPort, "/ready", Map.of()).status() == 200;
      } catch (Exception notYet) {
        return false;
      }
    }, Duration.ofSeconds(30));

    ConnectionFactory f = new ConnectionFactory();
    f.setUri("amqp://guest:guest@127.0.0.1:5672");
    amqp = f.newConnection("wsgwtest-rolling-backend-" + runId);
    clientLoops = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    load = Executors.newScheduledThreadPool(2);
  }

  @AfterEach
  void stopFleet() throws Exception {
    if (load != null) {
      load.shutdownNow();
    }
    for (GatewayClient c : clients) {
      c.close();
    }
    if (clientLoops != null) {
      clientLoops.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
    if (haproxy != null) {
      haproxy.destroyForcibly();
    }
    for (GatewayProcess g : gateways) {
      g.close();
    }
    if (amqp != null) {
      try (Channel ch = amqp.createChannel()) {
        for (String suffix : List.of(".inbox", ".topics", ".ingress", ".upstream")) {
          ch.exchangeDelete(rabbitPrefix + suffix);
        }
        ch.queueDelete(rabbitPrefix + ".ingress");
        ch.queueDelete(rabbitPrefix + ".orphans");
        for (GatewayProcess g : gateways) {
          ch.queueDelete(rabbitPrefix + ".inbox." + g.instanceId);
        }
      } finally {
        amqp.close();
      }
    }
    RedisClient redis = RedisClient.create("redis://127.0.0.1:6379");
    try (StatefulRedisConnection<String, String> c = redis.connect()) {
      ScanCursor cursor = ScanCursor.INITIAL;
      do {
        var page = c.sync().scan(cursor, ScanArgs.Builder.matches(redisPrefix + "*").limit(1000));
        if (!page.getKeys().isEmpty()) {
          c.sync().del(page.getKeys().toArray(new String[0]));
        }
        cursor = page;
      } while (!cursor.isFinished());
    } finally {
      redis.shutdown();
    }
  }

  @Test
  @DisplayName("loses, duplicates and reorders nothing while every instance in turn is drained, stopped and started")
  void rollingRestart() throws Exception {
    connectClients();
    Traffic traffic = startTraffic();
    long restartStart = System.currentTimeMillis();
    for (GatewayProcess g : gateways) {
      assertEquals(0, g.terminate(Duration.ofSeconds(60)), g.instanceId + " exit code after SIGTERM");
      g.start();
    }
    long restartMillis = System.currentTimeMillis() - restartStart;
    traffic.stop();
    verify(traffic, "rolling restart", restartStart, restartMillis, true);
  }

  @Test
  @Tag("crash") // -Dexcluded.test.groups=crash skips the kill -9 cases
  @DisplayName("loses nothing when an instance is killed with no drain: its clients resume elsewhere")
  void killNine() throws Exception {
    connectClients();
    Traffic traffic = startTraffic();
    long start = System.currentTimeMillis();
    GatewayProcess victim = gateways.get(1);
    victim.kill();
    victim.start();
    traffic.stop();
    // What was on its way to the killed instance arrives late, re-routed: complete, but not necessarily
    // in send order, and a crash can repeat what it routed but never acknowledged (reported, not failed).
    verify(traffic, "kill -9", start, System.currentTimeMillis() - start, false);
  }

  @Test
  @Tag("crash")
  @DisplayName("loses nothing when an instance is killed with no drain and never comes back")
  void killNineForGood() throws Exception {
    connectClients();
    Traffic traffic = startTraffic();
    long start = System.currentTimeMillis();
    gateways.get(1).kill();
    // What was queued for the dead instance is rescued by the others once it has waited long enough.
    Await.until("every client connected again", () -> clients.stream().allMatch(c -> c.state() == ClientState.CONNECTED),
        Duration.ofSeconds(60));
    int rounds = traffic.rounds.get();
    Await.until("a few more rounds", () -> traffic.rounds.get() >= rounds + 4, Duration.ofSeconds(30));
    traffic.stop();
    verify(traffic, "kill -9 for good", start, System.currentTimeMillis() - start, false);
  }

  // ---- traffic ----

  private void connectClients() {
    List<CompletableFuture<Void>> connected = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) {
      String user = "u" + i;
      Receiver receiver = new Receiver();
      GatewayClient client = GatewayClient.builder()
          .uri(URI.create("ws://127.0.0.1:" + lbPort + "/ws"))
          .tokenSupplier(() -> CompletableFuture.completedFuture(
              JwtTokens.hs256(secret.getBytes(StandardCharsets.UTF_8), user, Map.of(), Instant.now().plusSeconds(3600))))
          .listener(receiver)
          .eventLoopGroup(clientLoops)
          .build();
      clients.add(client);
      receivers.add(receiver);
      connected.add(client.connect().toCompletableFuture());
    }
    CompletableFuture.allOf(connected.toArray(new CompletableFuture<?>[0])).orTimeout(60, TimeUnit.SECONDS).join();
  }

  /** The backend's rounds (one message to every user per round) and the peers' acked sends. */
  final class Traffic {
    final AtomicInteger rounds = new AtomicInteger();
    final Map<String, List<Integer>> acked = new ConcurrentHashMap<>();
    final AtomicLong peerFailures = new AtomicLong();
    // Peer sends not yet acked or failed: verify waits for none, so the acked lists it checks are final.
    final AtomicInteger peerInFlight = new AtomicInteger();
    final Map<String, Integer> peerFailureReasons = new ConcurrentHashMap<>();
    final int[] nextPeerN = new int[CLIENTS];
    Channel backend;

    void backendRound() {
      int r = rounds.get();
      try {
        for (int i = 0; i < CLIENTS; i++) {
          backend.basicPublish(rabbitPrefix + ".ingress", "", null,
              ("{\"to\":\"u" + i + "\",\"id\":\"r" + r + "-u" + i + "\",\"from\":\"backend\",\"data\":{\"src\":\"backend\",\"n\":" + r + "}}")
                  .getBytes(StandardCharsets.UTF_8));
        }
        backend.waitForConfirmsOrDie(10_000);
        rounds.incrementAndGet();
      } catch (Exception e) {
        throw new IllegalStateException("backend publish failed in round " + r, e);
      }
    }

    void peerRound() {
      for (int i = 0; i < CLIENTS; i++) {
        int n = nextPeerN[i]++;
        String src = "u" + i;
        String dst = "u" + ((i + 1) % CLIENTS);
        peerInFlight.incrementAndGet();
        clients.get(i).send(dst, "{\"src\":\"" + src + "\",\"n\":" + n + "}").whenComplete((v, e) -> {
          if (e == null) {
            acked.computeIfAbsent(src, s -> Collections.synchronizedList(new ArrayList<>())).add(n);
          } else {
            peerFailures.incrementAndGet();
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e;
            String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
            peerFailureReasons.merge(reason.length() > 60 ? reason.substring(0, 60) : reason, 1, Integer::sum);
          }
          peerInFlight.decrementAndGet();
        });
      }
    }

    void stop() throws Exception {
      load.shutdown();
      assertTrue(load.awaitTermination(30, TimeUnit.SECONDS), "load generator did not stop");
    }
  }

  private Traffic startTraffic() throws Exception {
    Traffic t = new Traffic();
    t.backend = amqp.createChannel();
    t.backend.confirmSelect();
    // Warm-up rounds, unnumbered, each waited for: the numbered streams assume a round is routed
    // within the interval between rounds, which the gateways' cold JVMs do not manage at first.
    for (int w = 0; w < 3; w++) {
      for (int i = 0; i < CLIENTS; i++) {
        t.backend.basicPublish(rabbitPrefix + ".ingress", "", null,
            ("{\"to\":\"u" + i + "\",\"from\":\"backend\",\"data\":{\"src\":\"warmup\",\"n\":" + w + "}}")
                .getBytes(StandardCharsets.UTF_8));
      }
      t.backend.waitForConfirmsOrDie(10_000);
      int round = w;
      Await.until("warm-up round " + w + " delivered", () -> receivers.stream()
          .allMatch(r -> r.from("warmup").size() > round), Duration.ofSeconds(30));
    }
    load.scheduleAtFixedRate(t::backendRound, 0, ROUND_MILLIS, TimeUnit.MILLISECONDS);
    load.scheduleAtFixedRate(t::peerRound, ROUND_MILLIS / 2, ROUND_MILLIS, TimeUnit.MILLISECONDS);
    Await.until("traffic flowing", () -> t.rounds.get() >= 2, Duration.ofSeconds(30));
    return t;
  }

  // ---- verification and report ----

  private void verify(Traffic t, String scenario, long startMillis, long durationMillis, boolean inOrder)
      throws Exception {
    int rounds = t.rounds.get();
    // An ack can reach the sender before the message reaches its receiver: count only once every send
    // has its answer (an ack, or a failure by the client's 10 s ack timeout), so no ack lands mid-count.
    Await.until("every peer send acked or failed", () -> t.peerInFlight.get() == 0, Duration.ofSeconds(30));
    try {
      Await.until("every client has every backend message", () -> receivers.stream()
          .allMatch(r -> r.from("backend").size() >= rounds), Duration.ofSeconds(60));
    } catch (AssertionError timeout) {
      StringBuilder missing = new StringBuilder();
      for (int i = 0; i < CLIENTS; i++) {
        List<Integer> got = receivers.get(i).from("backend");
        if (got.size() < rounds) {
          List<Integer> absent = new ArrayList<>();
          for (int n = 0; n < rounds && absent.size() < 10; n++) {
            if (!got.contains(n)) {
              absent.add(n);
            }
          }
          missing.append("\n  u").append(i).append(": ").append(got.size()).append("/").append(rounds)
              .append(" missing ").append(absent).append(" state ").append(clients.get(i).state())
              .append(" session ").append(clients.get(i).sessionId()).append(" lastSeq ")
              .append(clients.get(i).lastSeq()).append(" errors ").append(receivers.get(i).errors);
        }
      }
      throw new AssertionError(scenario + ": backend messages missing:" + missing, timeout);
    }
    try {
      // Acked peer messages queued for a crashed instance arrive once rescued (orphanAfter later).
      Await.until("every acked peer message delivered", () -> {
        for (int i = 0; i < CLIENTS; i++) {
          String src = "u" + ((i + CLIENTS - 1) % CLIENTS);
          List<Integer> ackedByPeer = t.acked.getOrDefault(src, List.of());
          List<Integer> got = receivers.get(i).from(src);
          synchronized (ackedByPeer) {
            if (!got.containsAll(ackedByPeer)) {
              return false;
            }
          }
        }
        return true;
      }, Duration.ofSeconds(60));
    } catch (AssertionError timeout) {
      // Counted and reported below.
    }
    int lost = 0;
    List<String> lostPeer = new ArrayList<>();
    List<String> dupSamples = new ArrayList<>();
    List<String> orderSamples = new ArrayList<>();
    int duplicated = 0;
    int outOfOrder = 0;
    long peerAcked = 0;
    for (int i = 0; i < CLIENTS; i++) {
      Receiver r = receivers.get(i);
      List<Integer> backend = r.from("backend");
      if (inOrder) {
        for (int n = 0; n < backend.size(); n++) {
          if (backend.get(n) != n) {
            outOfOrder++;
            if (orderSamples.size() < 10) {
              orderSamples.add("backend->u" + i + " at " + n + ": " + backend.subList(Math.max(0, n - 2),
                  Math.min(backend.size(), n + 3)));
            }
          }
        }
      }
      duplicated += backend.size() - new java.util.HashSet<>(backend).size();
      noteDuplicates(dupSamples, "backend->u" + i, backend);
      for (int n = 0; n < rounds; n++) {
        if (!backend.contains(n)) {
          lost++;
        }
      }
      String src = "u" + ((i + CLIENTS - 1) % CLIENTS);
      List<Integer> fromPeer = r.from(src);
      List<Integer> ackedByPeer = t.acked.getOrDefault(src, List.of());
      synchronized (ackedByPeer) {
        peerAcked += ackedByPeer.size();
        for (int n : ackedByPeer) {
          if (!fromPeer.contains(n)) {
            lost++;
            if (lostPeer.size() < 20) {
              lostPeer.add(src + "->u" + i + "#" + n);
            }
          }
        }
      }
      duplicated += fromPeer.size() - new java.util.HashSet<>(fromPeer).size();
      noteDuplicates(dupSamples, src + "->u" + i, fromPeer);
      if (inOrder) {
        for (int k = 1; k < fromPeer.size(); k++) {
          if (fromPeer.get(k) < fromPeer.get(k - 1)) {
            outOfOrder++;
            if (orderSamples.size() < 10) {
              orderSamples.add(src + "->u" + i + " at " + k + ": " + fromPeer.subList(Math.max(0, k - 2),
                  Math.min(fromPeer.size(), k + 3)));
            }
          }
        }
      }
    }
    List<Long> reconnects = new ArrayList<>();
    TreeMap<Long, Integer> perSecond = new TreeMap<>();
    for (Receiver r : receivers) {
      reconnects.addAll(r.reconnectMillis);
      for (long at : r.reconnectAt) {
        perSecond.merge((at - startMillis) / 1000, 1, Integer::sum);
      }
    }
    Collections.sort(reconnects);
    String report = String.format(
        "%s: %d clients, %d backend rounds (%d messages) and %d acked peer messages (%d peer sends failed: %s) over %.1f s; "
            + "lost %d, duplicated %d, out of order %d; %d reconnects, p50 %d ms, p99 %d ms, max %d ms; "
            + "reconnects per second since start: %s%n",
        scenario, CLIENTS, rounds, (long) rounds * CLIENTS, peerAcked, t.peerFailures.get(), t.peerFailureReasons, durationMillis / 1000.0,
        lost, duplicated, outOfOrder, reconnects.size(), percentile(reconnects, 50), percentile(reconnects, 99),
        reconnects.isEmpty() ? 0 : reconnects.get(reconnects.size() - 1), perSecond);
    if (!orderSamples.isEmpty()) {
      report = report.trim() + "; out of order e.g. " + orderSamples + System.lineSeparator();
    }
    if (!dupSamples.isEmpty()) {
      report = report.trim() + "; duplicated e.g. " + dupSamples + System.lineSeparator();
    }
    if (!lostPeer.isEmpty()) {
      report = report.trim() + "; acked peer messages lost: " + lostPeer + System.lineSeparator();
    }
    System.out.print(report);
    Files.writeString(Path.of("target", "rolling-restart-report.txt"), report,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    assertEquals(0, lost, report);
    if (inOrder) {
      assertEquals(0, duplicated, report);
      assertEquals(0, outOfOrder, report);
    }
  }

  private static void noteDuplicates(List<String> samples, String stream, List<Integer> received) {
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (int n : received) {
      if (!seen.add(n) && samples.size() < 10) {
        samples.add(stream + "#" + n);
      }
    }
  }

  private static long percentile(List<Long> sorted, int p) {
    if (sorted.isEmpty()) {
      return 0;
    }
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  /**
   * A free port below Linux's ephemeral range (32768+): a gateway's port must stay free while it is
   * restarted, and an ephemeral one could meanwhile be taken by any outgoing connection on the host.
   */
  private static int freePort() throws IOException {
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    for (int tries = 0; tries < 100; tries++) {
      int port = random.nextInt(20_000, 32_000);
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port in 20000..32000 after 100 tries");
  }

  private static boolean which(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (new File(dir, command).canExecute()) {
        return true;
      }
    }
    return false;
  }
}
