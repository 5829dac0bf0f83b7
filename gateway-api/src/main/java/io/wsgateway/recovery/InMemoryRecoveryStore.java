package io.wsgateway.recovery;

import io.wsgateway.internal.InMemoryRecoveryStoreImpl;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Factory for the embedded recovery store: sessions and topic histories in this JVM's memory,
 * shared by the gateways that use it. Resumes work on any gateway of this JVM; across processes use a
 * shared store (Redis).
 *
 * <pre>{@code
 * RecoveryStore store = InMemoryRecoveryStore.builder().window(Duration.ofMinutes(5)).build();
 * }</pre>
 */
public final class InMemoryRecoveryStore {

  /** Default recovery window after a disconnect: 120 s. */
  public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(120);
  /** Default limit of messages kept per session: 1,000. */
  public static final int DEFAULT_MAX_MESSAGES = 1_000;
  /** Default limit of message bytes kept per session: 1 MiB. */
  public static final long DEFAULT_MAX_BYTES = 1024 * 1024;
  /** Default limit of sessions per user, live and detached: 32. */
  public static final int DEFAULT_MAX_SESSIONS_PER_USER = 32;
  /** Default limit of publications kept per topic: 1,000. */
  public static final int DEFAULT_TOPIC_MAX_MESSAGES = 1_000;
  /** Default limit of publication bytes kept per topic: 1 MiB. */
  public static final long DEFAULT_TOPIC_MAX_BYTES = 1024 * 1024;
  /** Default time a topic's history is kept after its latest publication: 120 s. */
  public static final Duration DEFAULT_TOPIC_HISTORY_TTL = Duration.ofSeconds(120);

  private InMemoryRecoveryStore() {}

  /** A store with the defaults. */
  public static RecoveryStore create() {
    return builder().build();
  }

  /**
   * A store keeping detached sessions for {@code window} and at most {@code maxMessages} messages per
   * session, reading time from {@code clock} (tests move it); other limits at their defaults.
   */
  public static RecoveryStore create(Duration window, int maxMessages, Clock clock) {
    return builder().window(window).maxMessages(maxMessages).clock(clock).build();
  }

  /** A builder with every limit at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds an in-memory store; each setter validates its argument at once. */
  public static final class Builder {
    private Duration window = DEFAULT_WINDOW;
    private int maxMessages = DEFAULT_MAX_MESSAGES;
    private long maxBytes = DEFAULT_MAX_BYTES;
    private int maxSessionsPerUser = DEFAULT_MAX_SESSIONS_PER_USER;
    private int topicMaxMessages = DEFAULT_TOPIC_MAX_MESSAGES;
    private long topicMaxBytes = DEFAULT_TOPIC_MAX_BYTES;
    private Duration topicHistoryTtl = DEFAULT_TOPIC_HISTORY_TTL;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /** How long a detached session can be resumed. Default 120 s. */
    public Builder window(Duration window) {
      this.window = positive("window", window);
      return this;
    }

    /** Messages kept per session; older ones are dropped. Default 1,000. */
    public Builder maxMessages(int maxMessages) {
      this.maxMessages = positive("maxMessages", maxMessages);
      return this;
    }

    /** Message bytes kept per session; older messages are dropped. Default 1 MiB. */
    public Builder maxBytes(long maxBytes) {
      this.maxBytes = positive("maxBytes", maxBytes);
      return this;
    }

    /**
     * Sessions per user, live and detached; beyond it a new session evicts the user's oldest detached
     * one. Default 32.
     */
    public Builder maxSessionsPerUser(int maxSessionsPerUser) {
      this.maxSessionsPerUser = positive("maxSessionsPerUser", maxSessionsPerUser);
      return this;
    }

    /** Publications kept per topic. Default 1,000. */
    public Builder topicMaxMessages(int topicMaxMessages) {
      this.topicMaxMessages = positive("topicMaxMessages", topicMaxMessages);
      return this;
    }

    /** Publication bytes kept per topic. Default 1 MiB. */
    public Builder topicMaxBytes(long topicMaxBytes) {
      this.topicMaxBytes = positive("topicMaxBytes", topicMaxBytes);
      return this;
    }

    /** How long a topic's history is kept after its latest publication. Default 120 s. */
    public Builder topicHistoryTtl(Duration topicHistoryTtl) {
      this.topicHistoryTtl = positive("topicHistoryTtl", topicHistoryTtl);
      return this;
    }

    /** The clock expiry reads. Default the system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    public RecoveryStore build() {
      return new InMemoryRecoveryStoreImpl(window, maxMessages, maxBytes, maxSessionsPerUser, topicMaxMessages,
          topicMaxBytes, topicHistoryTtl, clock);
    }

    private static Duration positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
      }
      return d;
    }

    private static int positive(String name, int n) {
      if (n <= 0) {
        throw new IllegalArgumentException(name + ": " + n + " (expected: > 0)");
      }
      return n;
    }

    private static long positive(String name, long n) {
      if (n <= 0) {
        throw new IllegalArgumentException(name + ": " + n + " (expected: > 0)");
      }
      return n;
    }
  }
}
