package io.wsgateway.chaos;

import io.wsgateway.chaos.check.Checker;
import io.wsgateway.chaos.faults.FaultKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * What a chaos run does: its seed and length, the workload's size and rates, the faults, the quiet
 * period, and where the tools and the example jar are. Immutable; built by {@link #builder()}, every
 * setter validates at once.
 */
public final class ChaosOptions {

  /** Default {@link Builder#duration}: 90 s of traffic under faults (the CI schedule). */
  public static final Duration DEFAULT_DURATION = Duration.ofSeconds(90);
  /** Default {@link Builder#clients}: 30. */
  public static final int DEFAULT_CLIENTS = 30;
  /** Default {@link Builder#faultStart}: faults begin 5 s after traffic. */
  public static final Duration DEFAULT_FAULT_START = Duration.ofSeconds(5);
  /** Default {@link Builder#faultStopBefore}: no fault starts in the last 10 s of traffic. */
  public static final Duration DEFAULT_FAULT_STOP_BEFORE = Duration.ofSeconds(10);
  /** Default {@link Builder#meanFaultGap}: an extra fault every 6 s on average, on top of one of each kind. */
  public static final Duration DEFAULT_MEAN_FAULT_GAP = Duration.ofSeconds(6);
  /** Default {@link Builder#directInterval}: each client sends a burst every second. */
  public static final Duration DEFAULT_DIRECT_INTERVAL = Duration.ofSeconds(1);
  /** Default {@link Builder#directBurst}: 4 messages back to back to one peer (order at the start of a conversation). */
  public static final int DEFAULT_DIRECT_BURST = 4;
  /** Default {@link Builder#peersPerClient}: 3. */
  public static final int DEFAULT_PEERS_PER_CLIENT = 3;
  /** Default {@link Builder#topics}: 4. */
  public static final int DEFAULT_TOPICS = 4;
  /** Default {@link Builder#subscribersPerTopic}: 8. */
  public static final int DEFAULT_SUBSCRIBERS_PER_TOPIC = 8;
  /** Default {@link Builder#publishersPerTopic}: 2. */
  public static final int DEFAULT_PUBLISHERS_PER_TOPIC = 2;
  /** Default {@link Builder#topicInterval}: each publisher publishes a burst every second. */
  public static final Duration DEFAULT_TOPIC_INTERVAL = Duration.ofSeconds(1);
  /** Default {@link Builder#topicBurst}: 2. */
  public static final int DEFAULT_TOPIC_BURST = 2;
  /** Default {@link Builder#ingressInterval}: the backend publishes a burst every 100 ms. */
  public static final Duration DEFAULT_INGRESS_INTERVAL = Duration.ofMillis(100);
  /** Default {@link Builder#ingressBurst}: 3 messages to one user, back to back (ingress order). */
  public static final int DEFAULT_INGRESS_BURST = 3;
  /** Default {@link Builder#quietIdle}: the quiet period ends after 20 s without a delivery (covers orphan rescue). */
  public static final Duration DEFAULT_QUIET_IDLE = Duration.ofSeconds(20);
  /** Default {@link Builder#quietMax}: the quiet period lasts at most 120 s. */
  public static final Duration DEFAULT_QUIET_MAX = Duration.ofSeconds(120);
  /** Default {@link Builder#gatewayJar}: {@code examples/target/gateway-example.jar}. */
  public static final Path DEFAULT_GATEWAY_JAR = Path.of("examples", "target", "gateway-example.jar");
  /** Default {@link Builder#outDir}: {@code target/chaos}. */
  public static final Path DEFAULT_OUT_DIR = Path.of("target", "chaos");
  /** Default {@link Builder#rabbitUri}: the machine's RabbitMQ. */
  public static final String DEFAULT_RABBIT_URI = "amqp://guest:guest@127.0.0.1:5672";
  /** Default {@link Builder#redisServer}: {@code redis-server} on the PATH. */
  public static final String DEFAULT_REDIS_SERVER = "redis-server";
  /** Default {@link Builder#haproxy}: {@code haproxy} on the PATH. */
  public static final String DEFAULT_HAPROXY = "haproxy";
  /** Default {@link Builder#rabbitmqctl}: {@code rabbitmqctl} on the PATH. */
  public static final String DEFAULT_RABBITMQCTL = "rabbitmqctl";

  private final long seed;
  private final Duration duration;
  private final int clients;
  private final Duration faultStart;
  private final Duration faultStopBefore;
  private final Duration meanFaultGap;
  private final Set<FaultKind> faultKinds;
  private final Duration directInterval;
  private final int directBurst;
  private final int peersPerClient;
  private final int topics;
  private final int subscribersPerTopic;
  private final int publishersPerTopic;
  private final Duration topicInterval;
  private final int topicBurst;
  private final Duration ingressInterval;
  private final int ingressBurst;
  private final Duration horizon;
  private final Duration quietIdle;
  private final Duration quietMax;
  private final Path gatewayJar;
  private final Path outDir;
  private final String rabbitUri;
  private final String redisServer;
  private final String haproxy;
  private final String rabbitmqctl;

  private ChaosOptions(Builder b) {
    this.seed = b.seed;
    this.duration = b.duration;
    this.clients = b.clients;
    this.faultStart = b.faultStart;
    this.faultStopBefore = b.faultStopBefore;
    this.meanFaultGap = b.meanFaultGap;
    this.faultKinds = Collections.unmodifiableSet(EnumSet.copyOf(b.faultKinds));
    this.directInterval = b.directInterval;
    this.directBurst = b.directBurst;
    this.peersPerClient = b.peersPerClient;
    this.topics = b.topics;
    this.subscribersPerTopic = b.subscribersPerTopic;
    this.publishersPerTopic = b.publishersPerTopic;
    this.topicInterval = b.topicInterval;
    this.topicBurst = b.topicBurst;
    this.ingressInterval = b.ingressInterval;
    this.ingressBurst = b.ingressBurst;
    this.horizon = b.horizon;
    this.quietIdle = b.quietIdle;
    this.quietMax = b.quietMax;
    this.gatewayJar = b.gatewayJar;
    this.outDir = b.outDir;
    this.rabbitUri = b.rabbitUri;
    this.redisServer = b.redisServer;
    this.haproxy = b.haproxy;
    this.rabbitmqctl = b.rabbitmqctl;
  }

  /** A builder with every default; the seed must be set. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these options. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.seed = seed;
    b.seedSet = true;
    b.duration = duration;
    b.clients = clients;
    b.faultStart = faultStart;
    b.faultStopBefore = faultStopBefore;
    b.meanFaultGap = meanFaultGap;
    b.faultKinds = EnumSet.copyOf(faultKinds);
    b.directInterval = directInterval;
    b.directBurst = directBurst;
    b.peersPerClient = peersPerClient;
    b.topics = topics;
    b.subscribersPerTopic = subscribersPerTopic;
    b.publishersPerTopic = publishersPerTopic;
    b.topicInterval = topicInterval;
    b.topicBurst = topicBurst;
    b.ingressInterval = ingressInterval;
    b.ingressBurst = ingressBurst;
    b.horizon = horizon;
    b.quietIdle = quietIdle;
    b.quietMax = quietMax;
    b.gatewayJar = gatewayJar;
    b.outDir = outDir;
    b.rabbitUri = rabbitUri;
    b.redisServer = redisServer;
    b.haproxy = haproxy;
    b.rabbitmqctl = rabbitmqctl;
    return b;
  }

  public long seed() {
    return seed;
  }

  public Duration duration() {
    return duration;
  }

  public int clients() {
    return clients;
  }

  public Duration faultStart() {
    return faultStart;
  }

  public Duration faultStopBefore() {
    return faultStopBefore;
  }

  public Duration meanFaultGap() {
    return meanFaultGap;
  }

  public Set<FaultKind> faultKinds() {
    return faultKinds;
  }

  public Duration directInterval() {
    return directInterval;
  }

  public int directBurst() {
    return directBurst;
  }

  public int peersPerClient() {
    return peersPerClient;
  }

  public int topics() {
    return topics;
  }

  public int subscribersPerTopic() {
    return subscribersPerTopic;
  }

  public int publishersPerTopic() {
    return publishersPerTopic;
  }

  public Duration topicInterval() {
    return topicInterval;
  }

  public int topicBurst() {
    return topicBurst;
  }

  public Duration ingressInterval() {
    return ingressInterval;
  }

  public int ingressBurst() {
    return ingressBurst;
  }

  public Duration horizon() {
    return horizon;
  }

  public Duration quietIdle() {
    return quietIdle;
  }

  public Duration quietMax() {
    return quietMax;
  }

  public Path gatewayJar() {
    return gatewayJar;
  }

  public Path outDir() {
    return outDir;
  }

  public String rabbitUri() {
    return rabbitUri;
  }

  public String redisServer() {
    return redisServer;
  }

  public String haproxy() {
    return haproxy;
  }

  public String rabbitmqctl() {
    return rabbitmqctl;
  }

  @Override
  public String toString() {
    return "ChaosOptions{seed=" + seed + ", duration=" + duration + ", clients=" + clients + ", faultStart="
        + faultStart + ", faultStopBefore=" + faultStopBefore + ", meanFaultGap=" + meanFaultGap + ", faultKinds="
        + faultKinds + ", directInterval=" + directInterval + ", directBurst=" + directBurst + ", peersPerClient="
        + peersPerClient + ", topics=" + topics + ", subscribersPerTopic=" + subscribersPerTopic
        + ", publishersPerTopic=" + publishersPerTopic + ", topicInterval=" + topicInterval + ", topicBurst="
        + topicBurst + ", ingressInterval=" + ingressInterval + ", ingressBurst=" + ingressBurst + ", horizon="
        + horizon + ", quietIdle=" + quietIdle + ", quietMax=" + quietMax + ", gatewayJar=" + gatewayJar
        + ", outDir=" + outDir + ", rabbitUri=" + rabbitUri.replaceFirst("(://[^:/@]*:)[^@/]*@", "$1****@")
        + ", redisServer=" + redisServer + ", haproxy=" + haproxy + ", rabbitmqctl=" + rabbitmqctl + "}";
  }

  /** Builds {@link ChaosOptions}. Not thread-safe. */
  public static final class Builder {
    private long seed;
    private boolean seedSet;
    private Duration duration = DEFAULT_DURATION;
    private int clients = DEFAULT_CLIENTS;
    private Duration faultStart = DEFAULT_FAULT_START;
    private Duration faultStopBefore = DEFAULT_FAULT_STOP_BEFORE;
    private Duration meanFaultGap = DEFAULT_MEAN_FAULT_GAP;
    private Set<FaultKind> faultKinds = EnumSet.allOf(FaultKind.class);
    private Duration directInterval = DEFAULT_DIRECT_INTERVAL;
    private int directBurst = DEFAULT_DIRECT_BURST;
    private int peersPerClient = DEFAULT_PEERS_PER_CLIENT;
    private int topics = DEFAULT_TOPICS;
    private int subscribersPerTopic = DEFAULT_SUBSCRIBERS_PER_TOPIC;
    private int publishersPerTopic = DEFAULT_PUBLISHERS_PER_TOPIC;
    private Duration topicInterval = DEFAULT_TOPIC_INTERVAL;
    private int topicBurst = DEFAULT_TOPIC_BURST;
    private Duration ingressInterval = DEFAULT_INGRESS_INTERVAL;
    private int ingressBurst = DEFAULT_INGRESS_BURST;
    private Duration horizon = Checker.DEFAULT_HORIZON;
    private Duration quietIdle = DEFAULT_QUIET_IDLE;
    private Duration quietMax = DEFAULT_QUIET_MAX;
    private Path gatewayJar = DEFAULT_GATEWAY_JAR;
    private Path outDir = DEFAULT_OUT_DIR;
    private String rabbitUri = DEFAULT_RABBIT_URI;
    private String redisServer = DEFAULT_REDIS_SERVER;
    private String haproxy = DEFAULT_HAPROXY;
    private String rabbitmqctl = DEFAULT_RABBITMQCTL;

    private Builder() {}

    /** The seed of the fault schedule and the workload's choices. Required. */
    public Builder seed(long seed) {
      this.seed = seed;
      this.seedSet = true;
      return this;
    }

    /** Traffic under faults. Default {@link #DEFAULT_DURATION} (90 s); at least 30 s, at most 24 h. */
    public Builder duration(Duration d) {
      this.duration = within("duration", d, Duration.ofSeconds(30), Duration.ofHours(24));
      return this;
    }

    /** Clients, one user each. Default {@value #DEFAULT_CLIENTS}; 4..200. */
    public Builder clients(int n) {
      this.clients = range("clients", n, 4, 200);
      return this;
    }

    /** When faults may begin after traffic started. Default {@link #DEFAULT_FAULT_START} (5 s). */
    public Builder faultStart(Duration d) {
      this.faultStart = within("faultStart", d, Duration.ZERO, Duration.ofHours(1));
      return this;
    }

    /** No fault starts this close to the end of traffic. Default {@link #DEFAULT_FAULT_STOP_BEFORE} (10 s). */
    public Builder faultStopBefore(Duration d) {
      this.faultStopBefore = within("faultStopBefore", d, Duration.ZERO, Duration.ofHours(1));
      return this;
    }

    /** Mean gap between extra faults. Default {@link #DEFAULT_MEAN_FAULT_GAP} (6 s); at least 500 ms. */
    public Builder meanFaultGap(Duration d) {
      this.meanFaultGap = within("meanFaultGap", d, Duration.ofMillis(500), Duration.ofHours(1));
      return this;
    }

    /** The kinds of fault to inject, each at least once. Default: all of {@link FaultKind}. */
    public Builder faultKinds(Set<FaultKind> kinds) {
      Objects.requireNonNull(kinds, "faultKinds");
      if (kinds.isEmpty()) {
        throw new IllegalArgumentException("faultKinds: [] (expected: at least one)");
      }
      this.faultKinds = EnumSet.copyOf(kinds);
      return this;
    }

    /** How often each client sends a burst. Default {@link #DEFAULT_DIRECT_INTERVAL} (1 s); at least 50 ms. */
    public Builder directInterval(Duration d) {
      this.directInterval = within("directInterval", d, Duration.ofMillis(50), Duration.ofMinutes(10));
      return this;
    }

    /** Messages per direct burst. Default {@value #DEFAULT_DIRECT_BURST}; 0..100 (0: no direct stream). */
    public Builder directBurst(int n) {
      this.directBurst = range("directBurst", n, 0, 100);
      return this;
    }

    /** Users each client sends to, in turn. Default {@value #DEFAULT_PEERS_PER_CLIENT}; 1..20. */
    public Builder peersPerClient(int n) {
      this.peersPerClient = range("peersPerClient", n, 1, 20);
      return this;
    }

    /** Topics. Default {@value #DEFAULT_TOPICS}; 0..20. */
    public Builder topics(int n) {
      this.topics = range("topics", n, 0, 20);
      return this;
    }

    /** Subscribers per topic. Default {@value #DEFAULT_SUBSCRIBERS_PER_TOPIC}; 1..200. */
    public Builder subscribersPerTopic(int n) {
      this.subscribersPerTopic = range("subscribersPerTopic", n, 1, 200);
      return this;
    }

    /** Publishers per topic. Default {@value #DEFAULT_PUBLISHERS_PER_TOPIC}; 1..20. */
    public Builder publishersPerTopic(int n) {
      this.publishersPerTopic = range("publishersPerTopic", n, 1, 20);
      return this;
    }

    /** How often each publisher publishes a burst. Default {@link #DEFAULT_TOPIC_INTERVAL} (1 s); at least 50 ms. */
    public Builder topicInterval(Duration d) {
      this.topicInterval = within("topicInterval", d, Duration.ofMillis(50), Duration.ofMinutes(10));
      return this;
    }

    /** Messages per topic burst. Default {@value #DEFAULT_TOPIC_BURST}; 1..100. */
    public Builder topicBurst(int n) {
      this.topicBurst = range("topicBurst", n, 1, 100);
      return this;
    }

    /** How often the backend publishes a burst. Default {@link #DEFAULT_INGRESS_INTERVAL} (100 ms); at least 10 ms. */
    public Builder ingressInterval(Duration d) {
      this.ingressInterval = within("ingressInterval", d, Duration.ofMillis(10), Duration.ofMinutes(10));
      return this;
    }

    /** Messages per backend burst, to one user. Default {@value #DEFAULT_INGRESS_BURST}; 0..100 (0: no ingress stream). */
    public Builder ingressBurst(int n) {
      this.ingressBurst = range("ingressBurst", n, 0, 100);
      return this;
    }

    /** The checker's horizon (docs/chaos.md). Default {@link Checker#DEFAULT_HORIZON} (30 s); more than 0. */
    public Builder horizon(Duration d) {
      this.horizon = within("horizon", d, Duration.ofMillis(1), Duration.ofHours(1));
      return this;
    }

    /** The quiet period ends after this long without a delivery. Default {@link #DEFAULT_QUIET_IDLE} (20 s). */
    public Builder quietIdle(Duration d) {
      this.quietIdle = within("quietIdle", d, Duration.ofSeconds(1), Duration.ofHours(1));
      return this;
    }

    /** The quiet period's bound. Default {@link #DEFAULT_QUIET_MAX} (120 s). */
    public Builder quietMax(Duration d) {
      this.quietMax = within("quietMax", d, Duration.ofSeconds(1), Duration.ofHours(1));
      return this;
    }

    /** The example gateway's jar. Default {@link #DEFAULT_GATEWAY_JAR}. */
    public Builder gatewayJar(Path p) {
      this.gatewayJar = Objects.requireNonNull(p, "gatewayJar");
      return this;
    }

    /** Where each run writes its directory. Default {@link #DEFAULT_OUT_DIR}. */
    public Builder outDir(Path p) {
      this.outDir = Objects.requireNonNull(p, "outDir");
      return this;
    }

    /** The shared RabbitMQ. Default {@value #DEFAULT_RABBIT_URI}. */
    public Builder rabbitUri(String uri) {
      this.rabbitUri = nonBlank("rabbitUri", uri);
      return this;
    }

    /** The redis-server command. Default {@value #DEFAULT_REDIS_SERVER}. */
    public Builder redisServer(String command) {
      this.redisServer = nonBlank("redisServer", command);
      return this;
    }

    /** The haproxy command. Default {@value #DEFAULT_HAPROXY}. */
    public Builder haproxy(String command) {
      this.haproxy = nonBlank("haproxy", command);
      return this;
    }

    /** The rabbitmqctl command. Default {@value #DEFAULT_RABBITMQCTL}. */
    public Builder rabbitmqctl(String command) {
      this.rabbitmqctl = nonBlank("rabbitmqctl", command);
      return this;
    }

    /**
     * @throws IllegalStateException if no seed was set, or the fault window is shorter than 10 s, or a
     *     topic needs more subscribers or publishers, or a client more peers, than there are clients
     */
    public ChaosOptions build() {
      if (!seedSet) {
        throw new IllegalStateException("seed: not set (expected: seed(long))");
      }
      Duration window = duration.minus(faultStart).minus(faultStopBefore);
      if (window.compareTo(Duration.ofSeconds(10)) < 0) {
        throw new IllegalStateException("duration - faultStart - faultStopBefore: " + window
            + " (expected: >= 10 s, the fault window)");
      }
      if (subscribersPerTopic > clients || publishersPerTopic > clients || peersPerClient >= clients) {
        throw new IllegalStateException("subscribersPerTopic " + subscribersPerTopic + ", publishersPerTopic "
            + publishersPerTopic + ", peersPerClient " + peersPerClient + " (expected: at most clients " + clients
            + ", peers fewer)");
      }
      return new ChaosOptions(this);
    }

    private static Duration within(String name, Duration d, Duration min, Duration max) {
      Objects.requireNonNull(d, name);
      if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: " + min + ".." + max + ")");
      }
      return d;
    }

    private static int range(String name, int n, int min, int max) {
      if (n < min || n > max) {
        throw new IllegalArgumentException(name + ": " + n + " (expected: " + min + ".." + max + ")");
      }
      return n;
    }

    private static String nonBlank(String name, String v) {
      Objects.requireNonNull(v, name);
      if (v.isBlank()) {
        throw new IllegalArgumentException(name + ": blank (expected: non-empty)");
      }
      return v;
    }
  }
}
