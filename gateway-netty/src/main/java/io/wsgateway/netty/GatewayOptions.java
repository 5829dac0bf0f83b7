package io.wsgateway.netty;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable configuration of a Netty gateway instance. Build with {@link #builder()}, start from
 * {@link #defaults()}, or change a copy with {@link #toBuilder()}. Every default is a {@code DEFAULT_*}
 * constant below; {@link #toString()} prints every field so a deployed configuration can be logged.
 */
public final class GatewayOptions {

  /** Default bind address: all interfaces. */
  public static final String DEFAULT_HOST = "0.0.0.0";
  /** Default port: 8080. */
  public static final int DEFAULT_PORT = 8080;
  /** Default WebSocket path: {@code /ws}. */
  public static final String DEFAULT_PATH = "/ws";
  /** Default maximum message size: 64 KiB; larger messages close the connection with 1009. */
  public static final int DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024;
  /** Default server ping interval: 25 s, below common proxy idle timeouts of 30-60 s. */
  public static final Duration DEFAULT_PING_INTERVAL = Duration.ofSeconds(25);
  /** Default idle timeout: 60 s without any frame (not even a pong) closes the connection. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
  /** Default time a client has to complete the HTTP handshake: 10 s. */
  public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
  /** Default connection limit per instance: 100,000. */
  public static final int DEFAULT_MAX_CONNECTIONS = 100_000;
  /** Default limit of one user's connections on one instance: 32. */
  public static final int DEFAULT_MAX_CONNECTIONS_PER_USER = 32;
  /** Default outbound buffer low water mark: 64 KiB. */
  public static final int DEFAULT_WRITE_BUFFER_LOW = 64 * 1024;
  /** Default outbound buffer high water mark: 128 KiB. */
  public static final int DEFAULT_WRITE_BUFFER_HIGH = 128 * 1024;
  /** Default hard limit of one connection's outbound buffer: 1 MiB; reaching it closes the connection. */
  public static final int DEFAULT_WRITE_BUFFER_LIMIT = 1024 * 1024;
  /** Default slow-consumer policy: {@link SlowConsumerPolicy#CLOSE}. */
  public static final SlowConsumerPolicy DEFAULT_SLOW_CONSUMER_POLICY = SlowConsumerPolicy.CLOSE;
  /** Default time a client may stay above the high water mark: 2 s. */
  public static final Duration DEFAULT_SLOW_CONSUMER_GRACE = Duration.ofSeconds(2);
  /** Default client message rate: 1,000 frames per second per connection (burst of the same size). */
  public static final int DEFAULT_CLIENT_MESSAGES_PER_SECOND = 1_000;
  /** Default limit of topics one connection may subscribe to: 256. */
  public static final int DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 256;
  /** Default: permessage-deflate is not negotiated (it costs CPU on every message). */
  public static final boolean DEFAULT_COMPRESSION = false;
  /** Default deflate level when compression is on: 6. */
  public static final int DEFAULT_COMPRESSION_LEVEL = 6;
  /** Default: binary frames close the connection with 1003. */
  public static final boolean DEFAULT_ACCEPT_BINARY = false;
  /** Default: use native epoll when available. */
  public static final boolean DEFAULT_NATIVE_TRANSPORT = true;
  /** Default I/O threads: 0, meaning one per available processor. */
  public static final int DEFAULT_IO_THREADS = 0;
  /** Default admin port: -1, no admin listener (health and readiness are still served on the main port). */
  public static final int DEFAULT_ADMIN_PORT = -1;
  /** Default admin bind address: loopback only, since the admin listener can drain the instance. */
  public static final String DEFAULT_ADMIN_HOST = "127.0.0.1";
  /** Default: client frames of unreserved types are not forwarded upstream through the broker. */
  public static final boolean DEFAULT_FORWARD_UPSTREAM = false;

  // ---- handshake and admin hardening (docs/security.md) ----
  /**
   * Default time the authenticator has to decide a handshake: 5 s. Past it the client gets 503 {@code
   * auth_timeout} and its admission slot is freed, so a hung identity provider cannot hold slots.
   */
  public static final Duration DEFAULT_AUTHENTICATION_TIMEOUT = Duration.ofSeconds(5);
  /** Default admin token: none; admin routes then rely on the loopback bind address and the Origin and Host checks. */
  public static final String DEFAULT_ADMIN_TOKEN = null;
  /** Shortest admin token accepted: 16 characters. */
  public static final int MIN_ADMIN_TOKEN_LENGTH = 16;
  /**
   * Default handshakes allowed per remote address: 0, no limit. Off by default because behind a proxy or
   * a large NAT every client shares one address; turn it on where clients connect directly.
   */
  public static final int DEFAULT_HANDSHAKE_RATE_LIMIT_PER_ADDRESS = 0;
  /** Default period of the per-address handshake limit: 1 min. */
  public static final Duration DEFAULT_HANDSHAKE_RATE_LIMIT_PERIOD = Duration.ofMinutes(1);
  /** Default number of remote addresses the handshake limit tracks at once: 65,536 (a few MiB at most). */
  public static final int DEFAULT_HANDSHAKE_RATE_LIMIT_MAX_ADDRESSES = 65_536;

  // Hostile clients (docs/security.md): limits on what one connection may make the gateway do.
  /**
   * Default protocol errors ({@code malformed}, {@code rate_limited}, {@code unknown_type} answers)
   * one connection may cause within {@link #DEFAULT_PROTOCOL_ERROR_WINDOW} before it is closed with
   * 1008 {@code too many protocol errors}: 32. A working client causes none; a buggy one shows its
   * errors well before that.
   */
  public static final int DEFAULT_MAX_PROTOCOL_ERRORS = 32;
  /** Default window over which protocol errors are counted: 10 s. */
  public static final Duration DEFAULT_PROTOCOL_ERROR_WINDOW = Duration.ofSeconds(10);
  /**
   * Default burst of {@code refresh} frames: 3. Each refresh verifies a signature, which costs far more
   * than any other frame, so refreshes have a bucket of their own besides the frame rate.
   */
  public static final int DEFAULT_REFRESH_BURST = 3;
  /** Default time after which one more {@code refresh} is allowed: 1 s. */
  public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(1);

  private final String host;
  private final int port;
  private final String path;
  private final String instanceId;
  private final int maxMessageSize;
  private final Duration pingInterval;
  private final Duration idleTimeout;
  private final Duration handshakeTimeout;
  private final int maxConnections;
  private final int maxConnectionsPerUser;
  private final Set<String> allowedOrigins;
  private final int writeBufferLowWaterMark;
  private final int writeBufferHighWaterMark;
  private final int writeBufferLimit;
  private final SlowConsumerPolicy slowConsumerPolicy;
  private final Duration slowConsumerGrace;
  private final int clientMessagesPerSecond;
  private final int maxSubscriptionsPerConnection;
  private final boolean compression;
  private final int compressionLevel;
  private final boolean acceptBinary;
  private final boolean nativeTransport;
  private final int ioThreads;
  private final boolean forwardUpstream;
  private final int adminPort;
  private final String adminHost;
  private final Path tlsCertificateChain;
  private final Path tlsPrivateKey;
  private final Duration authenticationTimeout;
  private final String adminToken;
  private final int handshakeRateLimitPerAddress;
  private final Duration handshakeRateLimitPeriod;
  private final int handshakeRateLimitMaxAddresses;
  private final int maxProtocolErrors;
  private final Duration protocolErrorWindow;
  private final int refreshBurst;
  private final Duration refreshInterval;

  private GatewayOptions(Builder b) {
    this.host = b.host;
    this.port = b.port;
    this.path = b.path;
    this.instanceId = b.instanceId;
    this.maxMessageSize = b.maxMessageSize;
    this.pingInterval = b.pingInterval;
    this.idleTimeout = b.idleTimeout;
    this.handshakeTimeout = b.handshakeTimeout;
    this.maxConnections = b.maxConnections;
    this.maxConnectionsPerUser = b.maxConnectionsPerUser;
    this.allowedOrigins = Set.copyOf(b.allowedOrigins);
    this.writeBufferLowWaterMark = b.writeBufferLowWaterMark;
    this.writeBufferHighWaterMark = b.writeBufferHighWaterMark;
    this.writeBufferLimit = b.writeBufferLimit;
    this.slowConsumerPolicy = b.slowConsumerPolicy;
    this.slowConsumerGrace = b.slowConsumerGrace;
    this.clientMessagesPerSecond = b.clientMessagesPerSecond;
    this.maxSubscriptionsPerConnection = b.maxSubscriptionsPerConnection;
    this.compression = b.compression;
    this.compressionLevel = b.compressionLevel;
    this.acceptBinary = b.acceptBinary;
    this.nativeTransport = b.nativeTransport;
    this.ioThreads = b.ioThreads;
    this.forwardUpstream = b.forwardUpstream;
    this.adminPort = b.adminPort;
    this.adminHost = b.adminHost;
    this.tlsCertificateChain = b.tlsCertificateChain;
    this.tlsPrivateKey = b.tlsPrivateKey;
    this.authenticationTimeout = b.authenticationTimeout;
    this.adminToken = b.adminToken;
    this.handshakeRateLimitPerAddress = b.handshakeRateLimitPerAddress;
    this.handshakeRateLimitPeriod = b.handshakeRateLimitPeriod;
    this.handshakeRateLimitMaxAddresses = b.handshakeRateLimitMaxAddresses;
    this.maxProtocolErrors = b.maxProtocolErrors;
    this.protocolErrorWindow = b.protocolErrorWindow;
    this.refreshBurst = b.refreshBurst;
    this.refreshInterval = b.refreshInterval;
  }

  /** The defaults. */
  public static GatewayOptions defaults() {
    return builder().build();
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these options. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public String path() {
    return path;
  }

  /** The instance id, or {@code null} to generate one at build time. */
  public String instanceId() {
    return instanceId;
  }

  public int maxMessageSize() {
    return maxMessageSize;
  }

  public Duration pingInterval() {
    return pingInterval;
  }

  public Duration idleTimeout() {
    return idleTimeout;
  }

  public Duration handshakeTimeout() {
    return handshakeTimeout;
  }

  public int maxConnections() {
    return maxConnections;
  }

  public int maxConnectionsPerUser() {
    return maxConnectionsPerUser;
  }

  /** Allowed {@code Origin} values; empty means any origin (and requests without one). */
  public Set<String> allowedOrigins() {
    return allowedOrigins;
  }

  public int writeBufferLowWaterMark() {
    return writeBufferLowWaterMark;
  }

  public int writeBufferHighWaterMark() {
    return writeBufferHighWaterMark;
  }

  public int writeBufferLimit() {
    return writeBufferLimit;
  }

  public SlowConsumerPolicy slowConsumerPolicy() {
    return slowConsumerPolicy;
  }

  public Duration slowConsumerGrace() {
    return slowConsumerGrace;
  }

  public int clientMessagesPerSecond() {
    return clientMessagesPerSecond;
  }

  public int maxSubscriptionsPerConnection() {
    return maxSubscriptionsPerConnection;
  }

  public boolean compression() {
    return compression;
  }

  public int compressionLevel() {
    return compressionLevel;
  }

  public boolean acceptBinary() {
    return acceptBinary;
  }

  public boolean nativeTransport() {
    return nativeTransport;
  }

  public int ioThreads() {
    return ioThreads;
  }

  public boolean forwardUpstream() {
    return forwardUpstream;
  }

  /** Port of the admin listener ({@code /health}, {@code /ready}, {@code /admin/state}, {@code POST /admin/drain}), or -1 for none. */
  public int adminPort() {
    return adminPort;
  }

  public String adminHost() {
    return adminHost;
  }

  /** PEM certificate chain for TLS, or {@code null} for plain WebSocket. */
  public Path tlsCertificateChain() {
    return tlsCertificateChain;
  }

  /** PEM PKCS#8 private key for TLS, or {@code null}. */
  public Path tlsPrivateKey() {
    return tlsPrivateKey;
  }

  /** Time the authenticator has to decide a handshake. */
  public Duration authenticationTimeout() {
    return authenticationTimeout;
  }

  /** The bearer token admin routes require, or {@code null} for none. */
  public String adminToken() {
    return adminToken;
  }

  /** Handshakes one remote address may start per {@link #handshakeRateLimitPeriod()}; 0 means no limit. */
  public int handshakeRateLimitPerAddress() {
    return handshakeRateLimitPerAddress;
  }

  public Duration handshakeRateLimitPeriod() {
    return handshakeRateLimitPeriod;
  }

  /** Remote addresses the handshake limit tracks at once; the least recently seen are forgotten beyond it. */
  public int handshakeRateLimitMaxAddresses() {
    return handshakeRateLimitMaxAddresses;
  }

  /** Protocol errors one connection may cause within {@link #protocolErrorWindow()}; one more closes it. */
  public int maxProtocolErrors() {
    return maxProtocolErrors;
  }

  public Duration protocolErrorWindow() {
    return protocolErrorWindow;
  }

  /** {@code refresh} frames one connection may send at once; see {@link #refreshInterval()}. */
  public int refreshBurst() {
    return refreshBurst;
  }

  /** Time after which one more {@code refresh} is allowed, up to {@link #refreshBurst()}. */
  public Duration refreshInterval() {
    return refreshInterval;
  }

  @Override
  public String toString() {
    return "GatewayOptions{host=" + host + ", port=" + port + ", path=" + path + ", instanceId=" + instanceId
        + ", maxMessageSize=" + maxMessageSize + ", pingInterval=" + pingInterval + ", idleTimeout=" + idleTimeout
        + ", handshakeTimeout=" + handshakeTimeout + ", maxConnections=" + maxConnections
        + ", maxConnectionsPerUser=" + maxConnectionsPerUser + ", allowedOrigins=" + allowedOrigins
        + ", writeBufferLowWaterMark=" + writeBufferLowWaterMark + ", writeBufferHighWaterMark="
        + writeBufferHighWaterMark + ", writeBufferLimit=" + writeBufferLimit + ", slowConsumerPolicy="
        + slowConsumerPolicy + ", slowConsumerGrace=" + slowConsumerGrace + ", clientMessagesPerSecond="
        + clientMessagesPerSecond + ", maxSubscriptionsPerConnection=" + maxSubscriptionsPerConnection
        + ", compression=" + compression + ", compressionLevel=" + compressionLevel
        + ", acceptBinary=" + acceptBinary + ", nativeTransport=" + nativeTransport + ", ioThreads=" + ioThreads
        + ", forwardUpstream=" + forwardUpstream + ", adminHost=" + adminHost + ", adminPort=" + adminPort
        + ", tlsCertificateChain=" + tlsCertificateChain
        + ", tlsPrivateKey=" + (tlsPrivateKey == null ? null : "<set>")
        + ", authenticationTimeout=" + authenticationTimeout + ", adminToken=" + (adminToken == null ? null : "<set>")
        + ", handshakeRateLimitPerAddress=" + handshakeRateLimitPerAddress + ", handshakeRateLimitPeriod="
        + handshakeRateLimitPeriod + ", handshakeRateLimitMaxAddresses=" + handshakeRateLimitMaxAddresses
        + ", maxProtocolErrors=" + maxProtocolErrors + ", protocolErrorWindow=" + protocolErrorWindow
        + ", refreshBurst=" + refreshBurst + ", refreshInterval=" + refreshInterval + "}";
  }

  /** Builds {@link GatewayOptions}; setters validate at once and throw on bad values. Not thread-safe. */
  public static final class Builder {
    private String host = DEFAULT_HOST;
    private int port = DEFAULT_PORT;
    private String path = DEFAULT_PATH;
    private String instanceId;
    private int maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
    private Duration pingInterval = DEFAULT_PING_INTERVAL;
    private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
    private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
    private int maxConnections = DEFAULT_MAX_CONNECTIONS;
    private int maxConnectionsPerUser = DEFAULT_MAX_CONNECTIONS_PER_USER;
    private Set<String> allowedOrigins = Set.of();
    private int writeBufferLowWaterMark = DEFAULT_WRITE_BUFFER_LOW;
    private int writeBufferHighWaterMark = DEFAULT_WRITE_BUFFER_HIGH;
    private int writeBufferLimit = DEFAULT_WRITE_BUFFER_LIMIT;
    private SlowConsumerPolicy slowConsumerPolicy = DEFAULT_SLOW_CONSUMER_POLICY;
    private Duration slowConsumerGrace = DEFAULT_SLOW_CONSUMER_GRACE;
    private int clientMessagesPerSecond = DEFAULT_CLIENT_MESSAGES_PER_SECOND;
    private int maxSubscriptionsPerConnection = DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION;
    private boolean compression = DEFAULT_COMPRESSION;
    private int compressionLevel = DEFAULT_COMPRESSION_LEVEL;
    private boolean acceptBinary = DEFAULT_ACCEPT_BINARY;
    private boolean nativeTransport = DEFAULT_NATIVE_TRANSPORT;
    private int ioThreads = DEFAULT_IO_THREADS;
    private boolean forwardUpstream = DEFAULT_FORWARD_UPSTREAM;
    private int adminPort = DEFAULT_ADMIN_PORT;
    private String adminHost = DEFAULT_ADMIN_HOST;
    private Path tlsCertificateChain;
    private Path tlsPrivateKey;
    private Duration authenticationTimeout = DEFAULT_AUTHENTICATION_TIMEOUT;
    private String adminToken = DEFAULT_ADMIN_TOKEN;
    private int handshakeRateLimitPerAddress = DEFAULT_HANDSHAKE_RATE_LIMIT_PER_ADDRESS;
    private Duration handshakeRateLimitPeriod = DEFAULT_HANDSHAKE_RATE_LIMIT_PERIOD;
    private int handshakeRateLimitMaxAddresses = DEFAULT_HANDSHAKE_RATE_LIMIT_MAX_ADDRESSES;
    private int maxProtocolErrors = DEFAULT_MAX_PROTOCOL_ERRORS;
    private Duration protocolErrorWindow = DEFAULT_PROTOCOL_ERROR_WINDOW;
    private int refreshBurst = DEFAULT_REFRESH_BURST;
    private Duration refreshInterval = DEFAULT_REFRESH_INTERVAL;

    private Builder() {}

    private Builder(GatewayOptions o) {
      host = o.host;
      port = o.port;
      path = o.path;
      instanceId = o.instanceId;
      maxMessageSize = o.maxMessageSize;
      pingInterval = o.pingInterval;
      idleTimeout = o.idleTimeout;
      handshakeTimeout = o.handshakeTimeout;
      maxConnections = o.maxConnections;
      maxConnectionsPerUser = o.maxConnectionsPerUser;
      allowedOrigins = o.allowedOrigins;
      writeBufferLowWaterMark = o.writeBufferLowWaterMark;
      writeBufferHighWaterMark = o.writeBufferHighWaterMark;
      writeBufferLimit = o.writeBufferLimit;
      slowConsumerPolicy = o.slowConsumerPolicy;
      slowConsumerGrace = o.slowConsumerGrace;
      clientMessagesPerSecond = o.clientMessagesPerSecond;
      maxSubscriptionsPerConnection = o.maxSubscriptionsPerConnection;
      compression = o.compression;
      compressionLevel = o.compressionLevel;
      acceptBinary = o.acceptBinary;
      nativeTransport = o.nativeTransport;
      ioThreads = o.ioThreads;
      forwardUpstream = o.forwardUpstream;
      adminPort = o.adminPort;
      adminHost = o.adminHost;
      tlsCertificateChain = o.tlsCertificateChain;
      tlsPrivateKey = o.tlsPrivateKey;
      authenticationTimeout = o.authenticationTimeout;
      adminToken = o.adminToken;
      handshakeRateLimitPerAddress = o.handshakeRateLimitPerAddress;
      handshakeRateLimitPeriod = o.handshakeRateLimitPeriod;
      handshakeRateLimitMaxAddresses = o.handshakeRateLimitMaxAddresses;
      maxProtocolErrors = o.maxProtocolErrors;
      protocolErrorWindow = o.protocolErrorWindow;
      refreshBurst = o.refreshBurst;
      refreshInterval = o.refreshInterval;
    }

    /** Bind address. Default {@value GatewayOptions#DEFAULT_HOST}. */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /** Port; 0 picks a free one. Default {@value GatewayOptions#DEFAULT_PORT}. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
      }
      this.port = port;
      return this;
    }

    /** WebSocket path. Default {@value GatewayOptions#DEFAULT_PATH}. */
    public Builder path(String path) {
      Objects.requireNonNull(path, "path");
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("path: " + path + " (expected: starts with /)");
      }
      this.path = path;
      return this;
    }

    /** This instance's id, unique across the fleet. Default: generated. */
    public Builder instanceId(String instanceId) {
      Objects.requireNonNull(instanceId, "instanceId");
      if (instanceId.isEmpty() || !instanceId.matches("[A-Za-z0-9._-]{1,64}")) {
        throw new IllegalArgumentException("instanceId: " + instanceId + " (expected: 1-64 of [A-Za-z0-9._-])");
      }
      this.instanceId = instanceId;
      return this;
    }

    /** Largest message accepted, in bytes. Default {@value GatewayOptions#DEFAULT_MAX_MESSAGE_SIZE}. */
    public Builder maxMessageSize(int maxMessageSize) {
      this.maxMessageSize = positive("maxMessageSize", maxMessageSize);
      return this;
    }

    /** Server ping interval. Default {@link GatewayOptions#DEFAULT_PING_INTERVAL} (25 s). */
    public Builder pingInterval(Duration pingInterval) {
      this.pingInterval = positive("pingInterval", pingInterval);
      return this;
    }

    /** Silence after which a connection is closed. Default {@link GatewayOptions#DEFAULT_IDLE_TIMEOUT} (60 s). */
    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = positive("idleTimeout", idleTimeout);
      return this;
    }

    /** Time to complete the HTTP handshake. Default {@link GatewayOptions#DEFAULT_HANDSHAKE_TIMEOUT} (10 s). */
    public Builder handshakeTimeout(Duration handshakeTimeout) {
      this.handshakeTimeout = positive("handshakeTimeout", handshakeTimeout);
      return this;
    }

    /** Connection limit of this instance; beyond it handshakes get 503. Default {@value GatewayOptions#DEFAULT_MAX_CONNECTIONS}. */
    public Builder maxConnections(int maxConnections) {
      this.maxConnections = positive("maxConnections", maxConnections);
      return this;
    }

    /** Limit of one user's connections on this instance; beyond it handshakes get 429. Default {@value GatewayOptions#DEFAULT_MAX_CONNECTIONS_PER_USER}. */
    public Builder maxConnectionsPerUser(int maxConnectionsPerUser) {
      this.maxConnectionsPerUser = positive("maxConnectionsPerUser", maxConnectionsPerUser);
      return this;
    }

    /** Allowed {@code Origin} header values; others get 403. Default: empty, any origin. */
    public Builder allowedOrigins(Set<String> allowedOrigins) {
      this.allowedOrigins = Set.copyOf(Objects.requireNonNull(allowedOrigins, "allowedOrigins"));
      return this;
    }

    /**
     * Outbound buffer water marks per connection, in bytes. Defaults {@value
     * GatewayOptions#DEFAULT_WRITE_BUFFER_LOW} and {@value GatewayOptions#DEFAULT_WRITE_BUFFER_HIGH}.
     */
    public Builder writeBufferWaterMarks(int low, int high) {
      positive("low", low);
      if (high < low) {
        throw new IllegalArgumentException("high: " + high + " (expected: >= low " + low + ")");
      }
      this.writeBufferLowWaterMark = low;
      this.writeBufferHighWaterMark = high;
      return this;
    }

    /** Hard limit of one connection's outbound buffer. Default {@value GatewayOptions#DEFAULT_WRITE_BUFFER_LIMIT}. */
    public Builder writeBufferLimit(int writeBufferLimit) {
      this.writeBufferLimit = positive("writeBufferLimit", writeBufferLimit);
      return this;
    }

    /** What happens to slow consumers. Default {@link SlowConsumerPolicy#CLOSE}. */
    public Builder slowConsumerPolicy(SlowConsumerPolicy policy) {
      this.slowConsumerPolicy = Objects.requireNonNull(policy, "slowConsumerPolicy");
      return this;
    }

    /** Time a client may stay above the high water mark. Default {@link GatewayOptions#DEFAULT_SLOW_CONSUMER_GRACE} (2 s). */
    public Builder slowConsumerGrace(Duration grace) {
      this.slowConsumerGrace = positive("slowConsumerGrace", grace);
      return this;
    }

    /** Frames per second one client may send; excess frames get a {@code rate_limited} error. Default {@value GatewayOptions#DEFAULT_CLIENT_MESSAGES_PER_SECOND}. */
    public Builder clientMessagesPerSecond(int rate) {
      this.clientMessagesPerSecond = positive("clientMessagesPerSecond", rate);
      return this;
    }

    /** Topics one connection may subscribe to. Default {@value GatewayOptions#DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION}. */
    public Builder maxSubscriptionsPerConnection(int max) {
      this.maxSubscriptionsPerConnection = positive("maxSubscriptionsPerConnection", max);
      return this;
    }

    /**
     * Whether permessage-deflate may be negotiated, always without context takeover (no per-connection
     * compressor state). Default {@value GatewayOptions#DEFAULT_COMPRESSION}.
     */
    public Builder compression(boolean compression) {
      this.compression = compression;
      return this;
    }

    /** Deflate level 0..9. Default {@value GatewayOptions#DEFAULT_COMPRESSION_LEVEL}. */
    public Builder compressionLevel(int level) {
      if (level < 0 || level > 9) {
        throw new IllegalArgumentException("compressionLevel: " + level + " (expected: 0..9)");
      }
      this.compressionLevel = level;
      return this;
    }

    /** Whether binary frames go to the host's {@code MessageHandler#onBinary}. Default {@value GatewayOptions#DEFAULT_ACCEPT_BINARY}. */
    public Builder acceptBinary(boolean acceptBinary) {
      this.acceptBinary = acceptBinary;
      return this;
    }

    /** Whether to use native epoll when available. Default {@value GatewayOptions#DEFAULT_NATIVE_TRANSPORT}. */
    public Builder nativeTransport(boolean nativeTransport) {
      this.nativeTransport = nativeTransport;
      return this;
    }

    /** Number of I/O threads; 0 means one per processor. Default {@value GatewayOptions#DEFAULT_IO_THREADS}. */
    public Builder ioThreads(int ioThreads) {
      if (ioThreads < 0) {
        throw new IllegalArgumentException("ioThreads: " + ioThreads + " (expected: >= 0)");
      }
      this.ioThreads = ioThreads;
      return this;
    }

    /**
     * Whether client frames of types the protocol does not reserve, and no host handler takes, are
     * forwarded to backends through the broker. Default {@value GatewayOptions#DEFAULT_FORWARD_UPSTREAM}.
     */
    public Builder forwardUpstream(boolean forwardUpstream) {
      this.forwardUpstream = forwardUpstream;
      return this;
    }

    /**
     * Serves an admin listener on {@code port} (0 picks a free one): health, readiness, state, and
     * {@code POST /admin/drain}. Default {@value GatewayOptions#DEFAULT_ADMIN_PORT}: none.
     */
    public Builder adminPort(int port) {
      if (port < -1 || port > 65535) {
        throw new IllegalArgumentException("adminPort: " + port + " (expected: -1..65535)");
      }
      this.adminPort = port;
      return this;
    }

    /** Admin bind address. Default {@value GatewayOptions#DEFAULT_ADMIN_HOST}. */
    public Builder adminHost(String host) {
      this.adminHost = Objects.requireNonNull(host, "adminHost");
      return this;
    }

    /** Serve TLS (wss) with a PEM certificate chain and PKCS#8 PEM private key. Default: plain. */
    public Builder tls(Path certificateChain, Path privateKey) {
      this.tlsCertificateChain = Objects.requireNonNull(certificateChain, "certificateChain");
      this.tlsPrivateKey = Objects.requireNonNull(privateKey, "privateKey");
      return this;
    }

    /**
     * Time the authenticator has to decide a handshake, from the moment the request is complete; past
     * it the client gets 503 {@code auth_timeout} with {@code Retry-After} and its admission slot is
     * freed (a late result is ignored). Default {@link GatewayOptions#DEFAULT_AUTHENTICATION_TIMEOUT} (5 s).
     */
    public Builder authenticationTimeout(Duration timeout) {
      this.authenticationTimeout = positive("authenticationTimeout", timeout);
      return this;
    }

    /**
     * A bearer token that {@code /admin/*} routes of the admin listener require ({@code Authorization:
     * Bearer <token>}); health and readiness stay open for probes. At least {@value
     * GatewayOptions#MIN_ADMIN_TOKEN_LENGTH} visible ASCII characters. Default: none.
     */
    public Builder adminToken(String token) {
      Objects.requireNonNull(token, "adminToken");
      if (token.length() < MIN_ADMIN_TOKEN_LENGTH || !token.chars().allMatch(c -> c > 0x20 && c < 0x7F)) {
        // The message never repeats the token: options errors end up in logs.
        throw new IllegalArgumentException("adminToken: " + token.length() + " characters (expected: >= "
            + MIN_ADMIN_TOKEN_LENGTH + " visible ASCII characters, no spaces)");
      }
      this.adminToken = token;
      return this;
    }

    /**
     * Limits handshakes per remote address (IPv4 address, or IPv6 /64) to {@code handshakes} per
     * {@code period}, a token bucket that allows that many at once and refills evenly over the period.
     * Beyond it a handshake gets 429 {@code handshake_rate_limited} with {@code Retry-After}, before
     * authentication. Every handshake on the WebSocket path counts, refused or not. {@code handshakes} 0
     * turns the limit off. Default {@value GatewayOptions#DEFAULT_HANDSHAKE_RATE_LIMIT_PER_ADDRESS} (off)
     * per {@link GatewayOptions#DEFAULT_HANDSHAKE_RATE_LIMIT_PERIOD} (1 min): behind a proxy every client
     * has the proxy's address, so limit there instead.
     */
    public Builder handshakeRateLimitPerAddress(int handshakes, Duration period) {
      if (handshakes < 0) {
        throw new IllegalArgumentException("handshakeRateLimitPerAddress: " + handshakes + " (expected: >= 0)");
      }
      this.handshakeRateLimitPeriod = positive("handshakeRateLimitPeriod", period);
      this.handshakeRateLimitPerAddress = handshakes;
      return this;
    }

    /**
     * How many remote addresses the handshake limit tracks at once; beyond it the least recently seen is
     * forgotten (and starts afresh), so a spray of addresses cannot grow memory. Default {@value
     * GatewayOptions#DEFAULT_HANDSHAKE_RATE_LIMIT_MAX_ADDRESSES}.
     */
    public Builder handshakeRateLimitMaxAddresses(int max) {
      this.handshakeRateLimitMaxAddresses = positive("handshakeRateLimitMaxAddresses", max);
      return this;
    }

    /**
     * Closes a connection with 1008 {@code too many protocol errors} once its frames drew more than
     * {@code max} protocol errors ({@code malformed}, {@code rate_limited}, {@code unknown_type}) within
     * {@code window}, counted from the first error of the window. Defaults {@value
     * GatewayOptions#DEFAULT_MAX_PROTOCOL_ERRORS} and {@link GatewayOptions#DEFAULT_PROTOCOL_ERROR_WINDOW} (10 s).
     */
    public Builder protocolErrorLimit(int max, Duration window) {
      positive("maxProtocolErrors", max);
      this.protocolErrorWindow = positive("protocolErrorWindow", window);
      this.maxProtocolErrors = max;
      return this;
    }

    /**
     * Limits {@code refresh} frames per connection to a burst of {@code burst}, with one more allowed
     * every {@code interval}; excess refreshes get {@code rate_limited} and their token is not checked.
     * Defaults {@value GatewayOptions#DEFAULT_REFRESH_BURST} and {@link GatewayOptions#DEFAULT_REFRESH_INTERVAL} (1 s).
     */
    public Builder refreshLimit(int burst, Duration interval) {
      positive("refreshBurst", burst);
      this.refreshInterval = positive("refreshInterval", interval);
      this.refreshBurst = burst;
      return this;
    }

    public GatewayOptions build() {
      if (pingInterval.compareTo(idleTimeout) >= 0) {
        throw new IllegalStateException("pingInterval: " + pingInterval + " (expected: < idleTimeout " + idleTimeout + ")");
      }
      if (writeBufferLimit < writeBufferHighWaterMark) {
        throw new IllegalStateException("writeBufferLimit: " + writeBufferLimit
            + " (expected: >= writeBufferHighWaterMark " + writeBufferHighWaterMark + ")");
      }
      return new GatewayOptions(this);
    }

    private static int positive(String name, int value) {
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
      return value;
    }
  }
}
