package io.wsgateway.redis;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * The configuration of a {@link RedisRecoveryStore}: where Redis is, how keys are named, how long
 * sessions and how many messages are kept, and the command timeout. Immutable and thread-safe; build
 * with {@link #builder()}, start from {@link #defaults()}, change one with {@link #toBuilder()}.
 */
public final class RedisRecoveryOptions {

  /** Redis on this host's default port. */
  public static final String DEFAULT_URI = "redis://127.0.0.1:6379";
  /** Prefix of every key the store writes; the same default as the registry's, whose keys differ. */
  public static final String DEFAULT_KEY_PREFIX = "wsgw:";
  /** How long a detached session can be resumed. */
  public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(120);
  /** Messages kept per session. */
  public static final int DEFAULT_MAX_MESSAGES = 1_000;
  /** How long an attached session outlives its last append or claim, should its instance crash. */
  public static final Duration DEFAULT_ATTACHED_TTL = Duration.ofHours(24);
  /** How long one Redis command may take before its stage fails. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(1);
  /** How long {@link RedisRecoveryStore#create} waits for the first connection. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
  /** Commands awaiting a reply before further calls fail at once. */
  public static final int DEFAULT_MAX_PENDING_COMMANDS = 100_000;

  private static final RedisRecoveryOptions DEFAULTS = new Builder().build();

  private final String uri;
  private final String keyPrefix;
  private final Duration window;
  private final int maxMessages;
  private final Duration attachedTtl;
  private final Duration commandTimeout;
  private final Duration connectTimeout;
  private final int maxPendingCommands;

  private RedisRecoveryOptions(Builder b) {
    this.uri = b.uri;
    this.keyPrefix = b.keyPrefix;
    this.window = b.window;
    this.maxMessages = b.maxMessages;
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
     * How many messages each session keeps; older ones are dropped and a resume from before them is
     * {@code trimmed}. Bounds Redis memory per session. Default {@value #DEFAULT_MAX_MESSAGES}.
     */
    public Builder maxMessages(int maxMessages) {
      if (maxMessages <= 0) {
        throw new IllegalArgumentException("maxMessages: " + maxMessages + " (expected: > 0)");
      }
      this.maxMessages = maxMessages;
      return this;
    }

    /**
     * How long an attached session's keys live after its last create, claim or append: a session
     * whose instance crashed (and so never detached it) still expires. Default 24 h ({@link
     * #DEFAULT_ATTACHED_TTL}).
     */
    public Builder attachedTtl(Duration attachedTtl) {
      this.attachedTtl = positive("attachedTtl", attachedTtl);
      return this;
    }

    /**
     * How long a Redis command may take; past it the call fails with {@code internal}. Default 1 s
     * ({@link #DEFAULT_COMMAND_TIMEOUT}).
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
     * How many commands may await a reply on the shared connection; further calls fail at once
     * rather than queue without bound. Default {@value #DEFAULT_MAX_PENDING_COMMANDS}.
     */
    public Builder maxPendingCommands(int maxPendingCommands) {
      if (maxPendingCommands <= 0) {
        throw new IllegalArgumentException(
            "maxPendingCommands: " + maxPendingCommands + " (expected: > 0)");
      }
      this.maxPendingCommands = maxPendingCommands;
      return this;
    }

    /** The options. */
    public RedisRecoveryOptions build() {
      return new RedisRecoveryOptions(this);
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
