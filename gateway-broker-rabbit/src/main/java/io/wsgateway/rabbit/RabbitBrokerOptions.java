package io.wsgateway.rabbit;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Immutable settings of a {@link RabbitBroker}: where RabbitMQ is, what the exchanges are called, and
 * the bounds of batching, buffering and waiting.
 *
 * <p>Thread-safe. Build with {@link #builder()}, start from {@link #defaults()}, or change a copy with
 * {@link #toBuilder()}. Every limit has a finite default, named by a {@code DEFAULT_*} constant.
 */
public final class RabbitBrokerOptions {

  /** Default server: a local RabbitMQ as the guest user. */
  public static final String DEFAULT_URI = "amqp://guest:guest@127.0.0.1:5672";
  /** Default prefix of every exchange and queue name: {@code "wsgateway"}. */
  public static final String DEFAULT_EXCHANGE_PREFIX = "wsgateway";
  /**
   * Default time an inbox queue outlives its last consumer: 60 seconds. Long enough to ride out a
   * reconnect, short enough that a crashed instance's inbox does not collect messages for long.
   */
  public static final Duration DEFAULT_INBOX_EXPIRY = Duration.ofSeconds(60);
  /**
   * Default time a message waits in an inbox before another instance rescues it: 10 seconds. Longer
   * than the Redis registry's liveness TTL (6 s), so by then a crashed instance is no longer named by
   * lookups, and far longer than a live instance ever leaves a message queued.
   */
  public static final Duration DEFAULT_ORPHAN_AFTER = Duration.ofSeconds(10);
  /** Default time a rescued message waits for an instance to take it: 10 minutes. */
  public static final Duration DEFAULT_ORPHAN_RETENTION = Duration.ofMinutes(10);
  /** Default most envelopes in one broker message: 256. */
  public static final int DEFAULT_BATCH_MAX_ENVELOPES = 256;
  /** Default most payload bytes in one broker message: 64 KiB. */
  public static final int DEFAULT_BATCH_MAX_BYTES = 64 * 1024;
  /** Default longest time a partial batch waits for more envelopes while a publish is in flight: 1 ms. */
  public static final Duration DEFAULT_BATCH_LINGER = Duration.ofMillis(1);
  /** Default most unacknowledged broker messages delivered to one instance: 256. */
  public static final int DEFAULT_PREFETCH = 256;
  /** Default most envelopes accepted but not yet confirmed, per instance, outages included: 10,000. */
  public static final int DEFAULT_MAX_PENDING_PUBLISHES = 10_000;
  /**
   * Default most payload bytes of the envelopes accepted but not yet confirmed, per instance, outages
   * included: 64 MiB. With the count bound alone, 10,000 envelopes of 64 KiB would hold 625 MiB.
   */
  public static final long DEFAULT_MAX_PENDING_PUBLISH_BYTES = 64L * 1024 * 1024;
  /** Default longest time any returned stage stays incomplete: 5 seconds. */
  public static final Duration DEFAULT_PUBLISH_TIMEOUT = Duration.ofSeconds(5);
  /** Default type of the shared ingress queue: {@link QueueType#CLASSIC}. */
  public static final QueueType DEFAULT_INGRESS_QUEUE_TYPE = QueueType.CLASSIC;
  /** By default client frames are not forwarded upstream: {@code false}. */
  public static final boolean DEFAULT_UPSTREAM_ENABLED = false;
  /**
   * Default largest ingress message body the gateway routes: 1 MiB. A larger one is dead-lettered.
   * Far above a chat message, far below RabbitMQ's own limit (128 MiB), whose worth would stall
   * every client it is fanned out to.
   */
  public static final int DEFAULT_INGRESS_MAX_MESSAGE_BYTES = 1024 * 1024;
  /**
   * Default number of ingress partitions: 8. Messages for one recipient always go to the same
   * partition, which one instance at a time consumes, so their order holds.
   */
  public static final int DEFAULT_INGRESS_PARTITIONS = 8;
  /**
   * Default most tries of one ingress message before it is dead-lettered: 8, with the default delay
   * about 12.7 s of retrying: long enough to ride out a store failover or an instance restart (a
   * recipient whose session is being restored), short enough that a message for a user who is gone
   * reaches the dead-letter queue soon.
   */
  public static final int DEFAULT_INGRESS_MAX_ATTEMPTS = 8;
  /** Default pause before the first retry of an ingress message, doubled for each further one: 100 ms. */
  public static final Duration DEFAULT_INGRESS_RETRY_DELAY = Duration.ofMillis(100);
  /** Default most messages kept in the ingress dead-letter queue ({@code x-max-length}): 10,000; the oldest go first. */
  public static final int DEFAULT_DEAD_LETTER_MAX_MESSAGES = 10_000;
  /** Default most body bytes kept in the ingress dead-letter queue ({@code x-max-length-bytes}): 64 MiB. */
  public static final long DEFAULT_DEAD_LETTER_MAX_BYTES = 64L * 1024 * 1024;
  /** Default pause between attempts to recover a lost connection: 1 second. */
  public static final Duration DEFAULT_RECOVERY_INTERVAL = Duration.ofSeconds(1);

  /** The most ingress partitions: 1,024. */
  public static final int MAX_INGRESS_PARTITIONS = 1_024;

  /** The largest number of envelopes one batch may hold, which is what the codec accepts. */
  public static final int MAX_BATCH_ENVELOPES = io.wsgateway.broker.EnvelopeCodec.MAX_BATCH;

  /** The RabbitMQ queue type of the shared ingress queue. */
  public enum QueueType {
    /** A classic queue: fastest, kept on one node. */
    CLASSIC,
    /** A quorum queue: replicated across a cluster's nodes. */
    QUORUM
  }

  private static final RabbitBrokerOptions DEFAULTS = new Builder().build();

  private final String uri;
  private final List<String> addresses;
  private final String exchangePrefix;
  private final Duration inboxExpiry;
  private final Duration orphanAfter;
  private final Duration orphanRetention;
  private final int batchMaxEnvelopes;
  private final int batchMaxBytes;
  private final Duration batchLinger;
  private final int prefetch;
  private final int maxPendingPublishes;
  private final long maxPendingPublishBytes;
  private final Duration publishTimeout;
  private final QueueType ingressQueueType;
  private final boolean upstreamEnabled;
  private final Duration recoveryInterval;
  private final int ingressMaxMessageBytes;
  private final int ingressPartitions;
  private final int ingressMaxAttempts;
  private final Duration ingressRetryDelay;
  private final int deadLetterMaxMessages;
  private final long deadLetterMaxBytes;

  private RabbitBrokerOptions(Builder b) {
    this.uri = b.uri;
    this.addresses = List.copyOf(b.addresses);
    this.exchangePrefix = b.exchangePrefix;
    this.inboxExpiry = b.inboxExpiry;
    this.orphanAfter = b.orphanAfter;
    this.orphanRetention = b.orphanRetention;
    this.batchMaxEnvelopes = b.batchMaxEnvelopes;
    this.batchMaxBytes = b.batchMaxBytes;
    this.batchLinger = b.batchLinger;
    this.prefetch = b.prefetch;
    this.maxPendingPublishes = b.maxPendingPublishes;
    this.maxPendingPublishBytes = b.maxPendingPublishBytes;
    this.publishTimeout = b.publishTimeout;
    this.ingressQueueType = b.ingressQueueType;
    this.upstreamEnabled = b.upstreamEnabled;
    this.recoveryInterval = b.recoveryInterval;
    this.ingressMaxMessageBytes = b.ingressMaxMessageBytes;
    this.ingressPartitions = b.ingressPartitions;
    this.ingressMaxAttempts = b.ingressMaxAttempts;
    this.ingressRetryDelay = b.ingressRetryDelay;
    this.deadLetterMaxMessages = b.deadLetterMaxMessages;
    this.deadLetterMaxBytes = b.deadLetterMaxBytes;
  }

  /** The options with every setting at its default. */
  public static RabbitBrokerOptions defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these options. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** The AMQP URI: credentials, virtual host, and (without {@link #addresses()}) host and port. */
  public String uri() {
    return uri;
  }

  /** The cluster nodes as {@code host:port}, tried in order; empty to use the URI's host. */
  public List<String> addresses() {
    return addresses;
  }

  /** The prefix of every exchange and queue name. */
  public String exchangePrefix() {
    return exchangePrefix;
  }

  /** How long an inbox queue outlives its last consumer (its {@code x-expires}). */
  public Duration inboxExpiry() {
    return inboxExpiry;
  }

  /** How long a message waits in an inbox before it is dead-lettered to the shared orphans queue. */
  public Duration orphanAfter() {
    return orphanAfter;
  }

  /** How long a message waits in the orphans queue for an instance to take it. */
  public Duration orphanRetention() {
    return orphanRetention;
  }

  /** The most envelopes in one broker message. */
  public int batchMaxEnvelopes() {
    return batchMaxEnvelopes;
  }

  /** The most payload bytes in one broker message (a single larger envelope travels alone). */
  public int batchMaxBytes() {
    return batchMaxBytes;
  }

  /** The longest a partial batch waits while a publish to the same destination is in flight. */
  public Duration batchLinger() {
    return batchLinger;
  }

  /** The most unacknowledged broker messages delivered to one instance. */
  public int prefetch() {
    return prefetch;
  }

  /** The most envelopes one instance holds unconfirmed, outages included. */
  public int maxPendingPublishes() {
    return maxPendingPublishes;
  }

  /** The most payload bytes one instance holds unconfirmed, outages included. */
  public long maxPendingPublishBytes() {
    return maxPendingPublishBytes;
  }

  /** The longest any stage returned by an endpoint stays incomplete. */
  public Duration publishTimeout() {
    return publishTimeout;
  }

  /** The queue type of the shared ingress queue. */
  public QueueType ingressQueueType() {
    return ingressQueueType;
  }

  /** Whether {@code forwardUpstream} publishes to the upstream exchange. */
  public boolean upstreamEnabled() {
    return upstreamEnabled;
  }

  /** The pause between attempts to recover a lost connection. */
  public Duration recoveryInterval() {
    return recoveryInterval;
  }

  /** The largest ingress message body routed; larger ones are dead-lettered. */
  public int ingressMaxMessageBytes() {
    return ingressMaxMessageBytes;
  }

  /** How many partition queues ingress is spread over, by recipient. */
  public int ingressPartitions() {
    return ingressPartitions;
  }

  /** The most tries of one ingress message before it is dead-lettered. */
  public int ingressMaxAttempts() {
    return ingressMaxAttempts;
  }

  /** The pause before the first retry of an ingress message; doubled for each further one. */
  public Duration ingressRetryDelay() {
    return ingressRetryDelay;
  }

  /** The most messages the ingress dead-letter queue keeps. */
  public int deadLetterMaxMessages() {
    return deadLetterMaxMessages;
  }

  /** The most body bytes the ingress dead-letter queue keeps. */
  public long deadLetterMaxBytes() {
    return deadLetterMaxBytes;
  }

  @Override
  public String toString() {
    return "RabbitBrokerOptions{uri=" + maskPassword(uri)
        + ", addresses=" + addresses
        + ", exchangePrefix=" + exchangePrefix
        + ", inboxExpiry=" + inboxExpiry
        + ", orphanAfter=" + orphanAfter
        + ", orphanRetention=" + orphanRetention
        + ", batchMaxEnvelopes=" + batchMaxEnvelopes
        + ", batchMaxBytes=" + batchMaxBytes
        + ", batchLinger=" + batchLinger
        + ", prefetch=" + prefetch
        + ", maxPendingPublishes=" + maxPendingPublishes
        + ", maxPendingPublishBytes=" + maxPendingPublishBytes
        + ", publishTimeout=" + publishTimeout
        + ", ingressQueueType=" + ingressQueueType
        + ", upstreamEnabled=" + upstreamEnabled
        + ", recoveryInterval=" + recoveryInterval
        + ", ingressMaxMessageBytes=" + ingressMaxMessageBytes
        + ", ingressPartitions=" + ingressPartitions
        + ", ingressMaxAttempts=" + ingressMaxAttempts
        + ", ingressRetryDelay=" + ingressRetryDelay
        + ", deadLetterMaxMessages=" + deadLetterMaxMessages
        + ", deadLetterMaxBytes=" + deadLetterMaxBytes
        + "}";
  }

  /** The URI with the password replaced by {@code ****}, for logs. */
  static String maskPassword(String uri) {
    int scheme = uri.indexOf("://");
    int at = uri.lastIndexOf('@');
    if (scheme < 0 || at < scheme) {
      return uri;
    }
    int colon = uri.indexOf(':', scheme + 3);
    if (colon < 0 || colon > at) {
      return uri;
    }
    return uri.substring(0, colon + 1) + "****" + uri.substring(at);
  }

  /** Builds {@link RabbitBrokerOptions}; every setter validates at once. Not thread-safe. */
  public static final class Builder {
    private String uri = DEFAULT_URI;
    private List<String> addresses = List.of();
    private String exchangePrefix = DEFAULT_EXCHANGE_PREFIX;
    private Duration inboxExpiry = DEFAULT_INBOX_EXPIRY;
    private Duration orphanAfter = DEFAULT_ORPHAN_AFTER;
    private Duration orphanRetention = DEFAULT_ORPHAN_RETENTION;
    private int batchMaxEnvelopes = DEFAULT_BATCH_MAX_ENVELOPES;
    private int batchMaxBytes = DEFAULT_BATCH_MAX_BYTES;
    private Duration batchLinger = DEFAULT_BATCH_LINGER;
    private int prefetch = DEFAULT_PREFETCH;
    private int maxPendingPublishes = DEFAULT_MAX_PENDING_PUBLISHES;
    private long maxPendingPublishBytes = DEFAULT_MAX_PENDING_PUBLISH_BYTES;
    private Duration publishTimeout = DEFAULT_PUBLISH_TIMEOUT;
    private QueueType ingressQueueType = DEFAULT_INGRESS_QUEUE_TYPE;
    private boolean upstreamEnabled = DEFAULT_UPSTREAM_ENABLED;
    private Duration recoveryInterval = DEFAULT_RECOVERY_INTERVAL;
    private int ingressMaxMessageBytes = DEFAULT_INGRESS_MAX_MESSAGE_BYTES;
    private int ingressPartitions = DEFAULT_INGRESS_PARTITIONS;
    private int ingressMaxAttempts = DEFAULT_INGRESS_MAX_ATTEMPTS;
    private Duration ingressRetryDelay = DEFAULT_INGRESS_RETRY_DELAY;
    private int deadLetterMaxMessages = DEFAULT_DEAD_LETTER_MAX_MESSAGES;
    private long deadLetterMaxBytes = DEFAULT_DEAD_LETTER_MAX_BYTES;

    private Builder() {}

    private Builder(RabbitBrokerOptions o) {
      uri = o.uri;
      addresses = o.addresses;
      exchangePrefix = o.exchangePrefix;
      inboxExpiry = o.inboxExpiry;
      orphanAfter = o.orphanAfter;
      orphanRetention = o.orphanRetention;
      batchMaxEnvelopes = o.batchMaxEnvelopes;
      batchMaxBytes = o.batchMaxBytes;
      batchLinger = o.batchLinger;
      prefetch = o.prefetch;
      maxPendingPublishes = o.maxPendingPublishes;
      maxPendingPublishBytes = o.maxPendingPublishBytes;
      publishTimeout = o.publishTimeout;
      ingressQueueType = o.ingressQueueType;
      upstreamEnabled = o.upstreamEnabled;
      recoveryInterval = o.recoveryInterval;
      ingressMaxMessageBytes = o.ingressMaxMessageBytes;
      ingressPartitions = o.ingressPartitions;
      ingressMaxAttempts = o.ingressMaxAttempts;
      ingressRetryDelay = o.ingressRetryDelay;
      deadLetterMaxMessages = o.deadLetterMaxMessages;
      deadLetterMaxBytes = o.deadLetterMaxBytes;
    }

    /**
     * The AMQP URI, {@code amqp://} or {@code amqps://} (TLS with the JVM's default trust store and
     * host name verification), with user, password and virtual host. Default: {@value #DEFAULT_URI}.
     */
    public Builder uri(String uri) {
      Objects.requireNonNull(uri, "uri");
      URI parsed;
      try {
        parsed = new URI(uri);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("uri: " + maskPassword(uri) + " (expected: an amqp:// or amqps:// URI)", e);
      }
      String scheme = parsed.getScheme();
      if (!"amqp".equalsIgnoreCase(scheme) && !"amqps".equalsIgnoreCase(scheme) || parsed.getHost() == null) {
        throw new IllegalArgumentException("uri: " + maskPassword(uri) + " (expected: an amqp:// or amqps:// URI with a host)");
      }
      this.uri = uri;
      return this;
    }

    /**
     * The nodes of a cluster as {@code host:port}, tried in order on connect and on recovery; the
     * URI still gives credentials, virtual host and TLS. Default: empty, to use the URI's host.
     */
    public Builder addresses(List<String> addresses) {
      Objects.requireNonNull(addresses, "addresses");
      List<String> copy = new ArrayList<>(addresses.size());
      for (String address : addresses) {
        Objects.requireNonNull(address, "addresses element");
        int colon = address.lastIndexOf(':');
        boolean valid = colon > 0 && colon < address.length() - 1;
        if (valid) {
          try {
            int port = Integer.parseInt(address.substring(colon + 1));
            valid = port > 0 && port <= 65_535;
          } catch (NumberFormatException e) {
            valid = false;
          }
        }
        if (!valid) {
          throw new IllegalArgumentException("addresses: " + address + " (expected: host:port)");
        }
        copy.add(address);
      }
      this.addresses = List.copyOf(copy);
      return this;
    }

    /**
     * The prefix of every exchange and queue name, e.g. {@code wsgateway.inbox}. Several deployments
     * can share one virtual host with different prefixes. Default: {@value #DEFAULT_EXCHANGE_PREFIX}.
     */
    public Builder exchangePrefix(String exchangePrefix) {
      Objects.requireNonNull(exchangePrefix, "exchangePrefix");
      if (exchangePrefix.isEmpty() || exchangePrefix.length() > 128 || exchangePrefix.startsWith("amq.")
          || exchangePrefix.chars().anyMatch(c -> c <= ' ' || c > '~')) {
        throw new IllegalArgumentException("exchangePrefix: " + exchangePrefix
            + " (expected: 1 to 128 printable ASCII characters without spaces, not starting with amq.)");
      }
      this.exchangePrefix = exchangePrefix;
      return this;
    }

    /**
     * How long an instance's inbox queue outlives its last consumer ({@code x-expires}): a restart
     * within it finds its inbox, a dead instance's inbox is removed after it. Default: 60 seconds
     * ({@link #DEFAULT_INBOX_EXPIRY}).
     */
    public Builder inboxExpiry(Duration inboxExpiry) {
      this.inboxExpiry = positiveMillis("inboxExpiry", inboxExpiry);
      return this;
    }

    /**
     * How long a message may wait in an instance's inbox ({@code x-message-ttl}) before RabbitMQ
     * dead-letters it to the shared orphans queue, where any live instance routes it again: that is
     * how messages queued for an instance that crashed reach its clients, who resumed elsewhere. A
     * restart within it consumes its own inbox as usual. Default: 10 seconds ({@link
     * #DEFAULT_ORPHAN_AFTER}); keep it above the registry's liveness TTL.
     */
    public Builder orphanAfter(Duration orphanAfter) {
      this.orphanAfter = positiveMillis("orphanAfter", orphanAfter);
      return this;
    }

    /**
     * How long a message waits in the orphans queue ({@code x-message-ttl}) when no instance consumes
     * it. Default: 10 minutes ({@link #DEFAULT_ORPHAN_RETENTION}).
     */
    public Builder orphanRetention(Duration orphanRetention) {
      this.orphanRetention = positiveMillis("orphanRetention", orphanRetention);
      return this;
    }

    /** The most envelopes in one broker message, at most {@link #MAX_BATCH_ENVELOPES}. Default: {@value #DEFAULT_BATCH_MAX_ENVELOPES}. */
    public Builder batchMaxEnvelopes(int batchMaxEnvelopes) {
      if (batchMaxEnvelopes <= 0 || batchMaxEnvelopes > MAX_BATCH_ENVELOPES) {
        throw new IllegalArgumentException("batchMaxEnvelopes: " + batchMaxEnvelopes + " (expected: 1.." + MAX_BATCH_ENVELOPES + ")");
      }
      this.batchMaxEnvelopes = batchMaxEnvelopes;
      return this;
    }

    /** The most payload bytes in one broker message; a larger envelope travels alone. Default: {@value #DEFAULT_BATCH_MAX_BYTES} (64 KiB). */
    public Builder batchMaxBytes(int batchMaxBytes) {
      if (batchMaxBytes <= 0) {
        throw new IllegalArgumentException("batchMaxBytes: " + batchMaxBytes + " (expected: > 0)");
      }
      this.batchMaxBytes = batchMaxBytes;
      return this;
    }

    /**
     * The longest a partial batch waits for more envelopes. Only envelopes that arrive while a publish
     * to the same destination awaits its confirm wait at all: a lone envelope is sent at once. Zero
     * sends partial batches as soon as the publisher thread gets to them. Default: 1 ms ({@link
     * #DEFAULT_BATCH_LINGER}).
     */
    public Builder batchLinger(Duration batchLinger) {
      Objects.requireNonNull(batchLinger, "batchLinger");
      if (batchLinger.isNegative() || batchLinger.compareTo(Duration.ofSeconds(1)) > 0) {
        throw new IllegalArgumentException("batchLinger: " + batchLinger + " (expected: 0..PT1S)");
      }
      this.batchLinger = batchLinger;
      return this;
    }

    /** The most unacknowledged broker messages (batches) delivered to one instance. Default: {@value #DEFAULT_PREFETCH}. */
    public Builder prefetch(int prefetch) {
      if (prefetch <= 0) {
        throw new IllegalArgumentException("prefetch: " + prefetch + " (expected: > 0)");
      }
      if (prefetch > 65_535) {
        // basic.qos carries the prefetch count as a 16-bit field.
        throw new IllegalArgumentException("prefetch: " + prefetch + " (expected: <= 65535)");
      }
      this.prefetch = prefetch;
      return this;
    }

    /**
     * The most envelopes one instance holds accepted but unconfirmed, including those buffered while
     * RabbitMQ is unreachable; beyond it sends fail at once with {@code UNAVAILABLE} (disconnected) or
     * {@code OVERLOADED} (connected). Default: {@value #DEFAULT_MAX_PENDING_PUBLISHES}.
     */
    public Builder maxPendingPublishes(int maxPendingPublishes) {
      if (maxPendingPublishes <= 0) {
        throw new IllegalArgumentException("maxPendingPublishes: " + maxPendingPublishes + " (expected: > 0)");
      }
      this.maxPendingPublishes = maxPendingPublishes;
      return this;
    }

    /**
     * The most payload bytes (the envelopes' data plus their string fields) one instance holds accepted
     * but unconfirmed, including those buffered while RabbitMQ is unreachable; beside {@link
     * #maxPendingPublishes}, so that large envelopes cannot hold many times the memory small ones do.
     * Beyond it sends fail at once with {@code OVERLOADED} (connected) or {@code UNAVAILABLE}
     * (disconnected), as with the count; an envelope larger than the whole bound always fails. Default:
     * 64 MiB ({@link #DEFAULT_MAX_PENDING_PUBLISH_BYTES}).
     */
    public Builder maxPendingPublishBytes(long maxPendingPublishBytes) {
      if (maxPendingPublishBytes <= 0) {
        throw new IllegalArgumentException("maxPendingPublishBytes: " + maxPendingPublishBytes + " (expected: > 0)");
      }
      this.maxPendingPublishBytes = maxPendingPublishBytes;
      return this;
    }

    /**
     * The longest any stage an endpoint returns stays incomplete: a publish neither confirmed nor
     * refused by then fails with {@code UNAVAILABLE}. Default: 5 seconds ({@link #DEFAULT_PUBLISH_TIMEOUT}).
     */
    public Builder publishTimeout(Duration publishTimeout) {
      this.publishTimeout = positiveMillis("publishTimeout", publishTimeout);
      return this;
    }

    /** The type of the shared ingress queue; changing it later needs the queue deleted. Default: {@link QueueType#CLASSIC}. */
    public Builder ingressQueueType(QueueType ingressQueueType) {
      this.ingressQueueType = Objects.requireNonNull(ingressQueueType, "ingressQueueType");
      return this;
    }

    /** Whether {@code forwardUpstream} publishes to the upstream exchange; otherwise it fails with UNSUPPORTED. Default: {@value #DEFAULT_UPSTREAM_ENABLED}. */
    public Builder upstreamEnabled(boolean upstreamEnabled) {
      this.upstreamEnabled = upstreamEnabled;
      return this;
    }

    /** The pause between attempts to recover a lost connection. Default: 1 second ({@link #DEFAULT_RECOVERY_INTERVAL}). */
    public Builder recoveryInterval(Duration recoveryInterval) {
      this.recoveryInterval = positiveMillis("recoveryInterval", recoveryInterval);
      return this;
    }

    /**
     * The largest ingress message body (bytes) the gateway routes; a larger one goes to the ingress
     * dead-letter queue. Default: 1 MiB ({@link #DEFAULT_INGRESS_MAX_MESSAGE_BYTES}).
     */
    public Builder ingressMaxMessageBytes(int ingressMaxMessageBytes) {
      if (ingressMaxMessageBytes <= 0) {
        throw new IllegalArgumentException("ingressMaxMessageBytes: " + ingressMaxMessageBytes + " (expected: > 0)");
      }
      this.ingressMaxMessageBytes = ingressMaxMessageBytes;
      return this;
    }

    /**
     * How many partition queues ingress is spread over by recipient, at most {@link
     * #MAX_INGRESS_PARTITIONS}. Every instance of a deployment must use the same number; change it only
     * with every instance stopped and the partition queues empty, or messages for one recipient
     * published around the change may arrive out of order. Default: {@value #DEFAULT_INGRESS_PARTITIONS}.
     */
    public Builder ingressPartitions(int ingressPartitions) {
      if (ingressPartitions <= 0 || ingressPartitions > MAX_INGRESS_PARTITIONS) {
        throw new IllegalArgumentException("ingressPartitions: " + ingressPartitions + " (expected: 1.." + MAX_INGRESS_PARTITIONS + ")");
      }
      this.ingressPartitions = ingressPartitions;
      return this;
    }

    /**
     * The most tries of one ingress message whose routing failed (e.g. the user was not found), after
     * which it goes to the dead-letter queue. Retries happen in place: later messages for the same
     * recipient wait. Default: {@value #DEFAULT_INGRESS_MAX_ATTEMPTS}.
     */
    public Builder ingressMaxAttempts(int ingressMaxAttempts) {
      if (ingressMaxAttempts <= 0 || ingressMaxAttempts > 100) {
        throw new IllegalArgumentException("ingressMaxAttempts: " + ingressMaxAttempts + " (expected: 1..100)");
      }
      this.ingressMaxAttempts = ingressMaxAttempts;
      return this;
    }

    /**
     * The pause before the first retry of an ingress message, doubled for each further one. Default:
     * 100 ms ({@link #DEFAULT_INGRESS_RETRY_DELAY}).
     */
    public Builder ingressRetryDelay(Duration ingressRetryDelay) {
      this.ingressRetryDelay = positiveMillis("ingressRetryDelay", ingressRetryDelay);
      return this;
    }

    /**
     * The most messages the ingress dead-letter queue {@code {prefix}.ingress.dlq} keeps ({@code
     * x-max-length}; the oldest are dropped). Fixed when the queue is first declared. Default:
     * {@value #DEFAULT_DEAD_LETTER_MAX_MESSAGES}.
     */
    public Builder deadLetterMaxMessages(int deadLetterMaxMessages) {
      if (deadLetterMaxMessages <= 0) {
        throw new IllegalArgumentException("deadLetterMaxMessages: " + deadLetterMaxMessages + " (expected: > 0)");
      }
      this.deadLetterMaxMessages = deadLetterMaxMessages;
      return this;
    }

    /**
     * The most body bytes the ingress dead-letter queue keeps ({@code x-max-length-bytes}; the oldest are
     * dropped). Fixed when the queue is first declared. Default: 64 MiB ({@link #DEFAULT_DEAD_LETTER_MAX_BYTES}).
     */
    public Builder deadLetterMaxBytes(long deadLetterMaxBytes) {
      if (deadLetterMaxBytes <= 0) {
        throw new IllegalArgumentException("deadLetterMaxBytes: " + deadLetterMaxBytes + " (expected: > 0)");
      }
      this.deadLetterMaxBytes = deadLetterMaxBytes;
      return this;
    }

    /** The options. */
    public RabbitBrokerOptions build() {
      return new RabbitBrokerOptions(this);
    }

    private static Duration positiveMillis(String name, Duration value) {
      Objects.requireNonNull(value, name);
      if (value.toMillis() <= 0 || value.toMillis() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: 1 ms.." + Integer.MAX_VALUE + " ms)");
      }
      return value;
    }
  }
}
