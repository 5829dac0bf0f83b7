package io.wsgateway.redis;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The configuration of a {@link RedisConnectionRegistry}: where Redis is, how keys are named, and
 * the heartbeat, timeout and sweep cadence. Immutable and thread-safe; build with {@link
 * #builder()}, start from {@link #defaults()}, change one with {@link #toBuilder()}.
 */
public final class RedisRegistryOptions {

  /** Redis on this host's default port. */
  public static final String DEFAULT_URI = "redis://127.0.0.1:6379";
  /** Standalone or Sentinel: the URI's scheme decides. */
  public static final boolean DEFAULT_CLUSTER = false;
  /** Prefix of every key the registry writes. */
  public static final String DEFAULT_KEY_PREFIX = "wsgw:";
  /** How often an instance refreshes its liveness key and its view of the fleet. */
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(2);
  /** How long a liveness key outlives its last heartbeat: three missed heartbeats. */
  public static final Duration DEFAULT_HEARTBEAT_TTL = Duration.ofSeconds(6);
  /** How long one Redis command may take before its stage fails. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(1);
  /** How long {@link RedisConnectionRegistry#create} waits for the first connection. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
  /** How often each instance removes the entries of dead instances. */
  public static final Duration DEFAULT_SWEEP_INTERVAL = Duration.ofSeconds(10);
  /** Upper bound of the delay between reconnect attempts during an outage. */
  public static final Duration DEFAULT_MAX_RECONNECT_DELAY = Duration.ofSeconds(2);
  /** Connections re-registered per pipelined batch after an outage. */
  public static final int DEFAULT_RESYNC_BATCH_SIZE = 1_000;
  /** Commands awaiting a reply before further commands fail at once. */
  public static final int DEFAULT_MAX_PENDING_COMMANDS = 100_000;
  /**
   * Users whose registry entries each registry keeps in its near cache (Redis client tracking keeps
   * it exact); about 250 bytes each. 0 turns the near cache off.
   */
  public static final int DEFAULT_NEAR_CACHE_MAX_ENTRIES = 100_000;

  private static final RedisRegistryOptions DEFAULTS = new Builder().build();

  private final String uri;
  private final boolean cluster;
  private final String keyPrefix;
  private final Duration heartbeatInterval;
  private final Duration heartbeatTtl;
  private final Duration commandTimeout;
  private final Duration connectTimeout;
  private final Duration sweepInterval;
  private final Duration maxReconnectDelay;
  private final int resyncBatchSize;
  private final int maxPendingCommands;
  private final int nearCacheMaxEntries;
  private final ScheduledExecutorService scheduler;

  private RedisRegistryOptions(Builder b) {
    this.uri = b.uri;
    this.cluster = b.cluster;
    this.keyPrefix = b.keyPrefix;
    this.heartbeatInterval = b.heartbeatInterval;
    this.heartbeatTtl = b.heartbeatTtl;
    this.commandTimeout = b.commandTimeout;
    this.connectTimeout = b.connectTimeout;
    this.sweepInterval = b.sweepInterval;
    this.maxReconnectDelay = b.maxReconnectDelay;
    this.resyncBatchSize = b.resyncBatchSize;
    this.maxPendingCommands = b.maxPendingCommands;
    this.nearCacheMaxEntries = b.nearCacheMaxEntries;
    this.scheduler = b.scheduler;
  }

  /** A builder with every field at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /** The options with every field at its default. */
  public static RedisRegistryOptions defaults() {
    return DEFAULTS;
  }

  /** A builder holding these options, to change some of them. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.uri = uri;
    b.cluster = cluster;
    b.keyPrefix = keyPrefix;
    b.heartbeatInterval = heartbeatInterval;
    b.heartbeatTtl = heartbeatTtl;
    b.commandTimeout = commandTimeout;
    b.connectTimeout = connectTimeout;
    b.sweepInterval = sweepInterval;
    b.maxReconnectDelay = maxReconnectDelay;
    b.resyncBatchSize = resyncBatchSize;
    b.maxPendingCommands = maxPendingCommands;
    b.nearCacheMaxEntries = nearCacheMaxEntries;
    b.scheduler = scheduler;
    return b;
  }

  public String uri() {
    return uri;
  }

  public boolean cluster() {
    return cluster;
  }

  public String keyPrefix() {
    return keyPrefix;
  }

  public Duration heartbeatInterval() {
    return heartbeatInterval;
  }

  public Duration heartbeatTtl() {
    return heartbeatTtl;
  }

  public Duration commandTimeout() {
    return commandTimeout;
  }

  public Duration connectTimeout() {
    return connectTimeout;
  }

  public Duration sweepInterval() {
    return sweepInterval;
  }

  public Duration maxReconnectDelay() {
    return maxReconnectDelay;
  }

  public int resyncBatchSize() {
    return resyncBatchSize;
  }

  public int maxPendingCommands() {
    return maxPendingCommands;
  }

  /** How many users' entries the near cache keeps; 0 when it is off. */
  public int nearCacheMaxEntries() {
    return nearCacheMaxEntries;
  }

  /** The caller's scheduler for heartbeats and sweeps, if one was given. */
  public Optional<ScheduledExecutorService> scheduler() {
    return Optional.ofNullable(scheduler);
  }

  @Override
  public String toString() {
    return "RedisRegistryOptions{uri=" + maskPassword(uri)
        + ", cluster=" + cluster
        + ", keyPrefix=" + keyPrefix
        + ", heartbeatInterval=" + heartbeatInterval
        + ", heartbeatTtl=" + heartbeatTtl
        + ", commandTimeout=" + commandTimeout
        + ", connectTimeout=" + connectTimeout
        + ", sweepInterval=" + sweepInterval
        + ", maxReconnectDelay=" + maxReconnectDelay
        + ", resyncBatchSize=" + resyncBatchSize
        + ", maxPendingCommands=" + maxPendingCommands
        + ", nearCacheMaxEntries=" + nearCacheMaxEntries
        + ", scheduler=" + (scheduler == null ? "own" : scheduler.getClass().getSimpleName())
        + '}';
  }

  /** Replaces the password of a {@code redis://[user:]password@host} URI by {@code ****}. */
  static String maskPassword(String uri) {
    int scheme = uri.indexOf("://");
    int at = uri.lastIndexOf('@');
    if (scheme < 0 || at < scheme) {
      return uri;
    }
    String userInfo = uri.substring(scheme + 3, at);
    int colon = userInfo.indexOf(':');
    String masked = colon < 0 ? "****" : userInfo.substring(0, colon + 1) + "****";
    return uri.substring(0, scheme + 3) + masked + uri.substring(at);
  }

  /** Builds {@link RedisRegistryOptions}; each setter validates its argument at once. Not thread-safe. */
  public static final class Builder {

    private String uri = DEFAULT_URI;
    private boolean cluster = DEFAULT_CLUSTER;
    private String keyPrefix = DEFAULT_KEY_PREFIX;
    private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
    private Duration heartbeatTtl = DEFAULT_HEARTBEAT_TTL;
    private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration sweepInterval = DEFAULT_SWEEP_INTERVAL;
    private Duration maxReconnectDelay = DEFAULT_MAX_RECONNECT_DELAY;
    private int resyncBatchSize = DEFAULT_RESYNC_BATCH_SIZE;
    private int maxPendingCommands = DEFAULT_MAX_PENDING_COMMANDS;
    private int nearCacheMaxEntries = DEFAULT_NEAR_CACHE_MAX_ENTRIES;
    private ScheduledExecutorService scheduler;

    private Builder() {}

    /**
     * Where Redis is: {@code redis://}, {@code rediss://} (TLS) or {@code redis-sentinel://}, with
     * Lettuce's URI syntax (password, database, timeout). With {@link #cluster(boolean) cluster}, one
     * seed node of the cluster. Default {@value #DEFAULT_URI}.
     */
    public Builder uri(String uri) {
      Objects.requireNonNull(uri, "uri");
      String scheme;
      try {
        scheme = URI.create(uri).getScheme();
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("uri: " + maskPassword(uri) + " (expected: a valid URI)", e);
      }
      if (!"redis".equals(scheme) && !"rediss".equals(scheme) && !"redis-sentinel".equals(scheme)) {
        throw new IllegalArgumentException(
            "uri: " + maskPassword(uri) + " (expected: redis://, rediss:// or redis-sentinel://)");
      }
      this.uri = uri;
      return this;
    }

    /**
     * Whether {@link #uri(String) uri} is a seed of a Redis Cluster, reached through Lettuce's
     * cluster client. Default {@value #DEFAULT_CLUSTER}.
     */
    public Builder cluster(boolean cluster) {
      this.cluster = cluster;
      return this;
    }

    /**
     * Prefix of every key, so several registries (or other data) can share one Redis. No braces: the
     * registry places its own hash tags. Default {@value #DEFAULT_KEY_PREFIX}.
     */
    public Builder keyPrefix(String keyPrefix) {
      Objects.requireNonNull(keyPrefix, "keyPrefix");
      if (keyPrefix.indexOf('{') >= 0 || keyPrefix.indexOf('}') >= 0) {
        throw new IllegalArgumentException(
            "keyPrefix: " + keyPrefix + " (expected: no '{' or '}'; the registry sets hash tags)");
      }
      this.keyPrefix = keyPrefix;
      return this;
    }

    /**
     * How often each attached instance refreshes its liveness key, and the registry its view of
     * which instances are live. Default 2 s ({@link #DEFAULT_HEARTBEAT_INTERVAL}).
     */
    public Builder heartbeatInterval(Duration heartbeatInterval) {
      this.heartbeatInterval = positive("heartbeatInterval", heartbeatInterval);
      return this;
    }

    /**
     * How long an instance's liveness key lives after its last heartbeat; once it lapses the
     * instance is dead and never returned. Must exceed the heartbeat interval (checked at {@link
     * #build()}). Default 6 s ({@link #DEFAULT_HEARTBEAT_TTL}).
     */
    public Builder heartbeatTtl(Duration heartbeatTtl) {
      this.heartbeatTtl = positive("heartbeatTtl", heartbeatTtl);
      return this;
    }

    /**
     * How long a Redis command may take; past it the call fails with {@code registry_unavailable}.
     * Default 1 s ({@link #DEFAULT_COMMAND_TIMEOUT}).
     */
    public Builder commandTimeout(Duration commandTimeout) {
      this.commandTimeout = positive("commandTimeout", commandTimeout);
      return this;
    }

    /**
     * How long {@link RedisConnectionRegistry#create} waits for the first connection. Default 2 s
     * ({@link #DEFAULT_CONNECT_TIMEOUT}).
     */
    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = positive("connectTimeout", connectTimeout);
      return this;
    }

    /**
     * How often the registry removes entries of dead instances (bounded work per dead instance).
     * Default 10 s ({@link #DEFAULT_SWEEP_INTERVAL}).
     */
    public Builder sweepInterval(Duration sweepInterval) {
      this.sweepInterval = positive("sweepInterval", sweepInterval);
      return this;
    }

    /**
     * The longest pause between reconnect attempts during an outage (they back off exponentially
     * from 10 ms). Default 2 s ({@link #DEFAULT_MAX_RECONNECT_DELAY}).
     */
    public Builder maxReconnectDelay(Duration maxReconnectDelay) {
      this.maxReconnectDelay = positive("maxReconnectDelay", maxReconnectDelay);
      return this;
    }

    /**
     * How many connections a resync re-registers per pipelined batch; bounds the commands in flight
     * during a resync. Default {@value #DEFAULT_RESYNC_BATCH_SIZE}.
     */
    public Builder resyncBatchSize(int resyncBatchSize) {
      if (resyncBatchSize <= 0) {
        throw new IllegalArgumentException(
            "resyncBatchSize: " + resyncBatchSize + " (expected: > 0)");
      }
      this.resyncBatchSize = resyncBatchSize;
      return this;
    }

    /**
     * How many commands may await a reply on the shared connection; further calls fail at once
     * with {@code registry_unavailable} rather than queue without bound. Default {@value
     * #DEFAULT_MAX_PENDING_COMMANDS}.
     */
    public Builder maxPendingCommands(int maxPendingCommands) {
      if (maxPendingCommands <= 0) {
        throw new IllegalArgumentException(
            "maxPendingCommands: " + maxPendingCommands + " (expected: > 0)");
      }
      this.maxPendingCommands = maxPendingCommands;
      return this;
    }

    /**
     * How many users' entries the near cache keeps. A lookup (a direct message's route, a presence
     * query) answers from the cache when it can, without a Redis round trip; Redis client tracking
     * (RESP3, Redis 6 or later) tells the registry when a cached user's hash changes, so answers are
     * as fresh as a round trip's, give or take the invalidation's travel time (well under a
     * millisecond on a healthy connection). The cache empties whenever the connection drops and
     * fills again once tracking is back on. With {@link #cluster(boolean) cluster}, or against a
     * Redis that cannot track, there is no near cache. About 250 bytes per entry; 0 turns it off.
     * Default {@value #DEFAULT_NEAR_CACHE_MAX_ENTRIES}.
     */
    public Builder nearCacheMaxEntries(int nearCacheMaxEntries) {
      if (nearCacheMaxEntries < 0) {
        throw new IllegalArgumentException(
            "nearCacheMaxEntries: " + nearCacheMaxEntries + " (expected: >= 0)");
      }
      this.nearCacheMaxEntries = nearCacheMaxEntries;
      return this;
    }

    /**
     * The scheduler for heartbeats, view refreshes, sweeps and resyncs; its tasks are short and never
     * block. The caller keeps ownership and shuts it down after the registry. Default: none, the
     * registry runs one daemon thread of its own and stops it on close.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** The options; fails if the heartbeat TTL does not exceed the heartbeat interval. */
    public RedisRegistryOptions build() {
      if (heartbeatTtl.compareTo(heartbeatInterval) <= 0) {
        throw new IllegalArgumentException(
            "heartbeatTtl: " + heartbeatTtl + " (expected: > heartbeatInterval " + heartbeatInterval + ")");
      }
      return new RedisRegistryOptions(this);
    }

    private static Duration positive(String name, Duration value) {
      Objects.requireNonNull(value, name);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
      return value;
    }
  }
}
