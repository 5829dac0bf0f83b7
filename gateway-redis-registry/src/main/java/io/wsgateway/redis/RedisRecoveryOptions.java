package io.wsgateway.redis;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * The configuration of a {@link RedisRecoveryStore}: where Redis is, how keys are named, how much
 * each session and topic keeps and for how long, and the command timeout. Immutable and
 * thread-safe; build with {@link #builder()}, start from {@link #defaults()}, change one with
 * {@link #toBuilder()}. The limits shared with {@link io.wsgateway.recovery.InMemoryRecoveryStore}
 * have the same defaults.
 */
public final class RedisRecoveryOptions {

  /** Redis on this host's default port. */
  public static final String DEFAULT_URI = "redis://127.0.0.1:6379";
  /** Prefix of every key the store writes; the same default as the registry's, whose keys differ. */
  public static final String DEFAULT_KEY_PREFIX = "wsgw:";
  /** How long a detached session can be resumed: 120 s. */
  public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(120);
  /** Messages kept per session: 1,000. */
  public static final int DEFAULT_MAX_MESSAGES = 1_000;
  /** Frame bytes kept per session: 1 MiB. */
  public static final long DEFAULT_MAX_BYTES = 1024 * 1024;
  /** Sessions per user, live and detached, before the oldest detached ones are evicted: 32. */
  public static final int DEFAULT_MAX_SESSIONS_PER_USER = 32;
  /** Publications kept per topic: 1,000. */
  public static final int DEFAULT_TOPIC_MAX_MESSAGES = 1_000;
  /** Publication frame bytes kept per topic: 1 MiB. */
  public static final long DEFAULT_TOPIC_MAX_BYTES = 1024 * 1024;
  /** How long a topic's history outlives its latest publication: 120 s. */
  public static final Duration DEFAULT_TOPIC_HISTORY_TTL = Duration.ofSeconds(120);
  /** How long an attached session outlives its last create, claim or append, should its instance crash: 24 h. */
  public static final Duration DEFAULT_ATTACHED_TTL = Duration.ofHours(24);
  /** How long one Redis command may take before its stage fails: 1 s. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(1);
  /** How long {@link RedisRecoveryStore#create} waits for the first connection: 2 s. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
  /** Calls awaiting a reply (or a script reload) before further calls fail at once: 100,000. */
  public static final int DEFAULT_MAX_PENDING_COMMANDS = 100_000;

  private static final RedisRecoveryOptions DEFAULTS = new Builder().build();

  private final String uri;
  private final String keyPrefix;
  private final Duration window;
  private final int maxMessages;
  private final long maxBytes;
  private final int maxSessionsPerUser;
  private final int topicMaxMessages;
  private final long topicMaxBytes;
  private final Duration topicHistoryTtl;
  private final Duration attachedTtl;
  private final Duration commandTimeout;
  private final Duration connectTimeout;
  private final int maxPendingCommands;

  private RedisRecoveryOptions(Builder b) {
    this.uri = b.uri;
    this.keyPrefix = b.keyPrefix;
    this.window = b.window;
    this.maxMessages = b.maxMessages;
    this.maxBytes = b.maxBytes;
    this.maxSessionsPerUser = b.maxSessionsPerUser;
    this.topicMaxMessages = b.topicMaxMessages;
    this.topicMaxBytes = b.topicMaxBytes;
    this.topicHistoryTtl = b.topicHistoryTtl;
    this.attachedTtl = b.attachedTtl;
    this.commandTimeout = b.commandTimeout;
    this.connectTimeout = b.connectTimeout;
    this.maxPendingCommands = b.maxPendingCommands;
  }

  /** A builder with every field at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /** The options with every field at its default. */
  public static RedisRecoveryOptions defaults() {
    return DEFAULTS;
  }

  /** A builder holding these options, to change some of them. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.uri = uri;
    b.keyPrefix = keyPrefix;
    b.window = window;
    b.maxMessages = maxMessages;
    b.maxBytes = maxBytes;
    b.maxSessionsPerUser = maxSessionsPerUser;
    b.topicMaxMessages = topicMaxMessages;
    b.topicMaxBytes = topicMaxBytes;
    b.topicHistoryTtl = topicHistoryTtl;
    b.attachedTtl = attachedTtl;
    b.commandTimeout = commandTimeout;
    b.connectTimeout = connectTimeout;
    b.maxPendingCommands = maxPendingCommands;
    return b;
  }

  public String uri() {
    return uri;
  }

  public String keyPrefix() {
    return keyPrefix;
  }

  public Duration window() {
    return window;
  }

  public int maxMessages() {
    return maxMessages;
  }

  public long maxBytes() {
    return maxBytes;
  }

  public int maxSessionsPerUser() {
    return maxSessionsPerUser;
  }

  public int topicMaxMessages() {
    return topicMaxMessages;
  }

  public long topicMaxBytes() {
    return topicMaxBytes;
  }

  public Duration topicHistoryTtl() {
    return topicHistoryTtl;
  }

  public Duration attachedTtl() {
    return attachedTtl;
  }

  public Duration commandTimeout() {
    return commandTimeout;
  }

  public Duration connectTimeout() {
    return connectTimeout;
  }

  public int maxPendingCommands() {
    return maxPendingCommands;
  }

  @Override
  public String toString() {
    return "RedisRecoveryOptions{uri=" + RedisRegistryOptions.maskPassword(uri)
        + ", keyPrefix=" + keyPrefix
        + ", window=" + window
        + ", maxMessages=" + maxMessages
        + ", maxBytes=" + maxBytes
        + ", maxSessionsPerUser=" + maxSessionsPerUser
        + ", topicMaxMessages=" + topicMaxMessages
        + ", topicMaxBytes=" + topicMaxBytes
        + ", topicHistoryTtl=" + topicHistoryTtl
        + ", attachedTtl=" + attachedTtl
        + ", commandTimeout=" + commandTimeout
        + ", connectTimeout=" + connectTimeout
        + ", maxPendingCommands=" + maxPendingCommands
        + '}';
  }

  /** Builds {@link RedisRecoveryOptions}; each setter validates its argument at once. Not thread-safe. */
  public static final class Builder {

    private String uri = DEFAULT_URI;
    private String keyPrefix = DEFAULT_KEY_PREFIX;
    private Duration window = DEFAULT_WINDOW;
    private int maxMessages = DEFAULT_MAX_MESSAGES;
    private long maxBytes = DEFAULT_MAX_BYTES;
    private int maxSessionsPerUser = DEFAULT_MAX_SESSIONS_PER_USER;
    private int topicMaxMessages = DEFAULT_TOPIC_MAX_MESSAGES;
    private long topicMaxBytes = DEFAULT_TOPIC_MAX_BYTES;
    private Duration topicHistoryTtl = DEFAULT_TOPIC_HISTORY_TTL;
    private Duration attachedTtl = DEFAULT_ATTACHED_TTL;
    private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private int maxPendingCommands = DEFAULT_MAX_PENDING_COMMANDS;

    private Builder() {}

    /**
     * Where Redis is: {@code redis://}, {@code rediss://} (TLS) or {@code redis-sentinel://}, with
     * Lettuce's URI syntax (password, database). Default {@value #DEFAULT_URI}.
     */
    public Builder uri(String uri) {
      Objects.requireNonNull(uri, "uri");
      String scheme;
      try {
        scheme = URI.create(uri).getScheme();
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "uri: " + RedisRegistryOptions.maskPassword(uri) + " (expected: a valid URI)", e);
      }
      if (!"redis".equals(scheme) && !"rediss".equals(scheme) && !"redis-sentinel".equals(scheme)) {
        throw new IllegalArgumentException("uri: " + RedisRegistryOptions.maskPassword(uri)
            + " (expected: redis://, rediss:// or redis-sentinel://)");
      }
      this.uri = uri;
      return this;
    }

    /**
     * Prefix of every key, so several stores (or other data) can share one Redis. No braces: the
     * store places its own hash tags. Default {@value #DEFAULT_KEY_PREFIX}.
     */
    public Builder keyPrefix(String keyPrefix) {
      Objects.requireNonNull(keyPrefix, "keyPrefix");
      if (keyPrefix.indexOf('{') >= 0 || keyPrefix.indexOf('}') >= 0) {
        throw new IllegalArgumentException(
            "keyPrefix: " + keyPrefix + " (expected: no '{' or '}'; the store sets hash tags)");
      }
      this.keyPrefix = keyPrefix;
      return this;
    }

    /**
     * How long a detached session can be claimed again before it is forgotten. Default 120 s
     * ({@link #DEFAULT_WINDOW}).
     */
    public Builder window(Duration window) {
      this.window = positive("window", window);
      return this;
    }

    /**
     * How many messages each session keeps; older ones are dropped and a read from before them is
     * {@code TRIMMED}. Default {@value #DEFAULT_MAX_MESSAGES}.
     */
    public Builder maxMessages(int maxMessages) {
      this.maxMessages = positive("maxMessages", maxMessages);
      return this;
    }

    /**
     * How many frame bytes each session keeps; older messages are dropped (the newest is always
     * kept). Default 1 MiB ({@link #DEFAULT_MAX_BYTES}).
     */
    public Builder maxBytes(long maxBytes) {
      this.maxBytes = positive("maxBytes", maxBytes);
      return this;
    }

    /**
     * How many sessions a user may have, live and detached; a new one beyond it evicts the user's
     * oldest detached sessions (never a live one). Bounds the work of an append to a user. Default
     * {@value #DEFAULT_MAX_SESSIONS_PER_USER}.
     */
    public Builder maxSessionsPerUser(int maxSessionsPerUser) {
      this.maxSessionsPerUser = positive("maxSessionsPerUser", maxSessionsPerUser);
      return this;
    }

    /** How many publications each topic keeps. Default {@value #DEFAULT_TOPIC_MAX_MESSAGES}. */
    public Builder topicMaxMessages(int topicMaxMessages) {
      this.topicMaxMessages = positive("topicMaxMessages", topicMaxMessages);
      return this;
    }

    /**
     * How many publication frame bytes each topic keeps (the newest is always kept). Default 1 MiB
     * ({@link #DEFAULT_TOPIC_MAX_BYTES}).
     */
    public Builder topicMaxBytes(long topicMaxBytes) {
      this.topicMaxBytes = positive("topicMaxBytes", topicMaxBytes);
      return this;
    }

    /**
     * How long a topic's history outlives its latest publication; its offset and epoch live 24 h
     * (or this, if longer) so a quiet topic keeps its numbering. Default 120 s ({@link
     * #DEFAULT_TOPIC_HISTORY_TTL}).
     */
    public Builder topicHistoryTtl(Duration topicHistoryTtl) {
      this.topicHistoryTtl = positive("topicHistoryTtl", topicHistoryTtl);
      return this;
    }

    /**
     * How long an attached session's keys live after its last create or claim, extended by appends
     * (at most every quarter of it): a session whose instance crashed, and so never detached it,
     * still expires. Default 24 h ({@link #DEFAULT_ATTACHED_TTL}).
     */
    public Builder attachedTtl(Duration attachedTtl) {
      this.attachedTtl = positive("attachedTtl", attachedTtl);
      return this;
    }

    /**
     * How long a Redis command may take; past it the call fails with {@code store_unavailable} (and
     * may still have taken effect). Default 1 s ({@link #DEFAULT_COMMAND_TIMEOUT}).
     */
    public Builder commandTimeout(Duration commandTimeout) {
      this.commandTimeout = positive("commandTimeout", commandTimeout);
      return this;
    }

    /**
     * How long {@link RedisRecoveryStore#create} waits for the first connection. Default 2 s
     * ({@link #DEFAULT_CONNECT_TIMEOUT}).
     */
    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = positive("connectTimeout", connectTimeout);
      return this;
    }

    /**
     * How many calls may await a reply on the shared connection, or a script reload; further calls
     * fail at once rather than queue without bound. Default {@value #DEFAULT_MAX_PENDING_COMMANDS}.
     */
    public Builder maxPendingCommands(int maxPendingCommands) {
      this.maxPendingCommands = positive("maxPendingCommands", maxPendingCommands);
      return this;
    }

    /** The options. */
    public RedisRecoveryOptions build() {
      return new RedisRecoveryOptions(this);
    }

    private static int positive(String name, int value) {
      if (value <= 0) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
      return value;
    }

    private static long positive(String name, long value) {
      if (value <= 0) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
      return value;
    }

    private static Duration positive(String name, Duration value) {
      Objects.requireNonNull(value, name);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
      if (value.toMillis() == 0) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: >= 1 ms)");
      }
      return value;
    }
  }
}
