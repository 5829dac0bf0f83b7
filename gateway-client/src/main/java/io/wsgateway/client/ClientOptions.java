package io.wsgateway.client;

import java.time.Duration;
import java.util.Objects;

/**
 * Tuning of a {@link GatewayClient}: backoff, timeouts, refresh, limits. Immutable and thread-safe;
 * build with {@link #builder()}, take {@link #defaults()}, or change a copy with {@link #toBuilder()}.
 * Every default is a {@code DEFAULT_*} constant.
 */
public final class ClientOptions {

  /** Default lower bound of the reconnect backoff: 100 ms (the base of the exponential). */
  public static final Duration DEFAULT_RECONNECT_BACKOFF_MIN = Duration.ofMillis(100);
  /** Default upper bound of the reconnect backoff: 10 s. */
  public static final Duration DEFAULT_RECONNECT_BACKOFF_MAX = Duration.ofSeconds(10);
  /** Default time from the start of an attempt to the welcome frame (TCP, TLS, upgrade, welcome): 5 s. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** Default time from a call to its ack or error: 10 s. */
  public static final Duration DEFAULT_ACK_TIMEOUT = Duration.ofSeconds(10);
  /** Default fraction of the remaining token lifetime left when the token is refreshed: 0.2 (20%). */
  public static final double DEFAULT_REFRESH_AHEAD = 0.2;
  /** Default bound of operations queued or awaiting their ack: 10,000. */
  public static final int DEFAULT_MAX_PENDING_SENDS = 10_000;
  /** Default largest inbound message: 64 KiB, the gateway's default {@code maxMessageSize}. */
  public static final int DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024;
  /** Default: use native epoll when available (only for a group the client creates itself). */
  public static final boolean DEFAULT_NATIVE_TRANSPORT = true;

  private final Duration reconnectBackoffMin;
  private final Duration reconnectBackoffMax;
  private final Duration connectTimeout;
  private final Duration ackTimeout;
  private final double refreshAhead;
  private final int maxPendingSends;
  private final int maxMessageSize;
  private final boolean nativeTransport;

  private ClientOptions(Builder b) {
    this.reconnectBackoffMin = b.reconnectBackoffMin;
    this.reconnectBackoffMax = b.reconnectBackoffMax;
    this.connectTimeout = b.connectTimeout;
    this.ackTimeout = b.ackTimeout;
    this.refreshAhead = b.refreshAhead;
    this.maxPendingSends = b.maxPendingSends;
    this.maxMessageSize = b.maxMessageSize;
    this.nativeTransport = b.nativeTransport;
  }

  /** All defaults. */
  public static ClientOptions defaults() {
    return builder().build();
  }

  /** A builder holding the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these options. */
  public Builder toBuilder() {
    return new Builder().reconnectBackoffMin(reconnectBackoffMin).reconnectBackoffMax(reconnectBackoffMax)
        .connectTimeout(connectTimeout).ackTimeout(ackTimeout).refreshAhead(refreshAhead)
        .maxPendingSends(maxPendingSends).maxMessageSize(maxMessageSize).nativeTransport(nativeTransport);
  }

  /** Base of the exponential backoff. */
  public Duration reconnectBackoffMin() {
    return reconnectBackoffMin;
  }

  /** Cap of the exponential backoff. */
  public Duration reconnectBackoffMax() {
    return reconnectBackoffMax;
  }

  /** Deadline of one connection attempt, until the welcome frame. */
  public Duration connectTimeout() {
    return connectTimeout;
  }

  /** Deadline of one operation, from the call to its ack or error. */
  public Duration ackTimeout() {
    return ackTimeout;
  }

  /** Fraction of the token's remaining lifetime at which it is refreshed before it expires. */
  public double refreshAhead() {
    return refreshAhead;
  }

  /** Bound of operations queued or awaiting their ack. */
  public int maxPendingSends() {
    return maxPendingSends;
  }

  /** Largest inbound WebSocket message, in bytes. */
  public int maxMessageSize() {
    return maxMessageSize;
  }

  /** Whether a client-owned event loop group uses native epoll when available. */
  public boolean nativeTransport() {
    return nativeTransport;
  }

  @Override
  public String toString() {
    return "ClientOptions{reconnectBackoffMin=" + reconnectBackoffMin + ", reconnectBackoffMax=" + reconnectBackoffMax
        + ", connectTimeout=" + connectTimeout + ", ackTimeout=" + ackTimeout + ", refreshAhead=" + refreshAhead
        + ", maxPendingSends=" + maxPendingSends + ", maxMessageSize=" + maxMessageSize
        + ", nativeTransport=" + nativeTransport + "}";
  }

  /** Builds {@link ClientOptions}. Not thread-safe. */
  public static final class Builder {
    private Duration reconnectBackoffMin = DEFAULT_RECONNECT_BACKOFF_MIN;
    private Duration reconnectBackoffMax = DEFAULT_RECONNECT_BACKOFF_MAX;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration ackTimeout = DEFAULT_ACK_TIMEOUT;
    private double refreshAhead = DEFAULT_REFRESH_AHEAD;
    private int maxPendingSends = DEFAULT_MAX_PENDING_SENDS;
    private int maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
    private boolean nativeTransport = DEFAULT_NATIVE_TRANSPORT;

    private Builder() {}

    /**
     * Base of the backoff, > 0. Attempt {@code n} (from 0) sleeps a uniformly random time in
     * {@code [0, min(max, min * 2^n)]} ("full jitter"). Default {@link
     * ClientOptions#DEFAULT_RECONNECT_BACKOFF_MIN} (100 ms).
     */
    public Builder reconnectBackoffMin(Duration min) {
      this.reconnectBackoffMin = positive("reconnectBackoffMin", min);
      return this;
    }

    /** Cap of the backoff, > 0 and >= the minimum. Default {@link ClientOptions#DEFAULT_RECONNECT_BACKOFF_MAX} (10 s). */
    public Builder reconnectBackoffMax(Duration max) {
      this.reconnectBackoffMax = positive("reconnectBackoffMax", max);
      return this;
    }

    /**
     * Deadline of one attempt, from its start to the welcome frame, > 0. Default {@link
     * ClientOptions#DEFAULT_CONNECT_TIMEOUT} (5 s).
     */
    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = positive("connectTimeout", connectTimeout);
      return this;
    }

    /**
     * Deadline of an operation, from the call (queued time included) to its ack or error, > 0.
     * Default {@link ClientOptions#DEFAULT_ACK_TIMEOUT} (10 s).
     */
    public Builder ackTimeout(Duration ackTimeout) {
      this.ackTimeout = positive("ackTimeout", ackTimeout);
      return this;
    }

    /**
     * When to refresh the token, as a fraction in (0, 1) of its lifetime: the refresh is sent at
     * {@code expires_at - refreshAhead * lifetime}. Default {@link ClientOptions#DEFAULT_REFRESH_AHEAD}
     * (0.2, i.e. 20% of the lifetime before expiry).
     */
    public Builder refreshAhead(double refreshAhead) {
      if (!(refreshAhead > 0 && refreshAhead < 1)) {
        throw new IllegalArgumentException("refreshAhead: " + refreshAhead + " (expected: > 0 and < 1)");
      }
      this.refreshAhead = refreshAhead;
      return this;
    }

    /**
     * Bound of operations queued while disconnected plus those awaiting their ack, > 0; beyond it
     * calls fail at once with {@link ClientException#CLIENT_OVERLOADED}. Default {@link
     * ClientOptions#DEFAULT_MAX_PENDING_SENDS} (10,000).
     */
    public Builder maxPendingSends(int maxPendingSends) {
      if (maxPendingSends <= 0) {
        throw new IllegalArgumentException("maxPendingSends: " + maxPendingSends + " (expected: > 0)");
      }
      this.maxPendingSends = maxPendingSends;
      return this;
    }

    /**
     * Largest inbound message in bytes, > 0; a larger one closes the connection with 1009 and the
     * client reconnects. Default {@link ClientOptions#DEFAULT_MAX_MESSAGE_SIZE} (64 KiB).
     */
    public Builder maxMessageSize(int maxMessageSize) {
      if (maxMessageSize <= 0) {
        throw new IllegalArgumentException("maxMessageSize: " + maxMessageSize + " (expected: > 0)");
      }
      this.maxMessageSize = maxMessageSize;
      return this;
    }

    /**
     * Whether a group the client creates uses native epoll when it is available. Default {@value
     * ClientOptions#DEFAULT_NATIVE_TRANSPORT}.
     */
    public Builder nativeTransport(boolean nativeTransport) {
      this.nativeTransport = nativeTransport;
      return this;
    }

    /** @throws IllegalStateException if the backoff maximum is below its minimum */
    public ClientOptions build() {
      if (reconnectBackoffMax.compareTo(reconnectBackoffMin) < 0) {
        throw new IllegalStateException("reconnectBackoffMax: " + reconnectBackoffMax
            + " (expected: >= reconnectBackoffMin " + reconnectBackoffMin + ")");
      }
      return new ClientOptions(this);
    }

    private static Duration positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
      }
      return d;
    }
  }
}
