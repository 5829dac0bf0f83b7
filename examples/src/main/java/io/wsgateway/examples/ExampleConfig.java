package io.wsgateway.examples;

import io.wsgateway.netty.GatewayOptions;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The example gateway's configuration, read from environment variables (or flags mirroring them).
 * Immutable; every value is validated when parsed. A blank variable counts as unset, except {@code
 * GATEWAY_JWT_SECRET}: a blank secret is an error, never "no secret", so that {@code -e
 * GATEWAY_JWT_SECRET=} in a container cannot open the gateway. Dev mode (a random secret and tokens for
 * anyone) is on only with {@code GATEWAY_DEV_MODE=true}; without it and without a key the configuration
 * is refused.
 */
final class ExampleConfig {

  static final String PORT = "GATEWAY_PORT";
  static final String HOST = "GATEWAY_HOST";
  static final String PATH = "GATEWAY_PATH";
  static final String JWT_SECRET = "GATEWAY_JWT_SECRET";
  static final String JWKS = "GATEWAY_JWKS";
  static final String INSTANCE_ID = "GATEWAY_INSTANCE_ID";
  static final String REDIS_URI = "GATEWAY_REDIS_URI";
  static final String RABBIT_URI = "GATEWAY_RABBIT_URI";
  static final String ADMIN_PORT = "GATEWAY_ADMIN_PORT";
  static final String REDIS_PREFIX = "GATEWAY_REDIS_PREFIX";
  static final String RABBIT_PREFIX = "GATEWAY_RABBIT_PREFIX";
  static final String DRAIN_SPREAD_MS = "GATEWAY_DRAIN_SPREAD_MS";
  static final String DRAIN_DEADLINE_MS = "GATEWAY_DRAIN_DEADLINE_MS";
  static final String RECOVERY = "GATEWAY_RECOVERY";
  static final String RECOVERY_WINDOW_MS = "GATEWAY_RECOVERY_WINDOW_MS";
  static final String DEV_MODE = "GATEWAY_DEV_MODE";
  static final String JWT_AUDIENCE = "GATEWAY_JWT_AUDIENCE";
  static final String JWT_ANY_AUDIENCE = "GATEWAY_JWT_ANY_AUDIENCE";
  static final String JWT_ISSUER = "GATEWAY_JWT_ISSUER";
  static final String AUTH_TIMEOUT_MS = "GATEWAY_AUTH_TIMEOUT_MS";
  static final String ADMIN_TOKEN = "GATEWAY_ADMIN_TOKEN";
  static final String HANDSHAKES_PER_ADDRESS = "GATEWAY_HANDSHAKES_PER_ADDRESS";
  static final String HANDSHAKE_PERIOD_MS = "GATEWAY_HANDSHAKE_PERIOD_MS";
  static final String HANDSHAKE_MAX_ADDRESSES = "GATEWAY_HANDSHAKE_MAX_ADDRESSES";

  static final int DEFAULT_PORT = 8080;
  static final String DEFAULT_HOST = "0.0.0.0";
  /** Dev mode hands out tokens to anyone who can reach it, so by default only this machine can. */
  static final String DEV_MODE_HOST = "127.0.0.1";
  static final String DEFAULT_PATH = "/ws";
  /** RFC 7518 requires an HS256 key of at least 256 bits. */
  static final int MIN_SECRET_BYTES = 32;

  /** Command-line flags and the variables they set; a flag wins over the variable. In usage order. */
  static final Map<String, String> FLAGS;

  static {
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("--port", PORT);
    flags.put("--host", HOST);
    flags.put("--path", PATH);
    flags.put("--jwt-secret", JWT_SECRET);
    flags.put("--jwks", JWKS);
    flags.put("--instance-id", INSTANCE_ID);
    flags.put("--redis-uri", REDIS_URI);
    flags.put("--rabbit-uri", RABBIT_URI);
    flags.put("--admin-port", ADMIN_PORT);
    flags.put("--redis-prefix", REDIS_PREFIX);
    flags.put("--rabbit-prefix", RABBIT_PREFIX);
    flags.put("--drain-spread-ms", DRAIN_SPREAD_MS);
    flags.put("--drain-deadline-ms", DRAIN_DEADLINE_MS);
    flags.put("--recovery", RECOVERY);
    flags.put("--recovery-window-ms", RECOVERY_WINDOW_MS);
    flags.put("--dev-mode", DEV_MODE);
    flags.put("--jwt-audience", JWT_AUDIENCE);
    flags.put("--jwt-any-audience", JWT_ANY_AUDIENCE);
    flags.put("--jwt-issuer", JWT_ISSUER);
    flags.put("--auth-timeout-ms", AUTH_TIMEOUT_MS);
    flags.put("--admin-token", ADMIN_TOKEN);
    flags.put("--handshakes-per-address", HANDSHAKES_PER_ADDRESS);
    flags.put("--handshake-period-ms", HANDSHAKE_PERIOD_MS);
    flags.put("--handshake-max-addresses", HANDSHAKE_MAX_ADDRESSES);
    FLAGS = java.util.Collections.unmodifiableMap(flags);
  }

  /** Paths the example serves itself; the WebSocket path must not take one of them. */
  static final String PAGE_PATH = "/";
  static final String PAGE_ALIAS_PATH = "/index.html";
  static final String DEV_TOKEN_PATH = "/dev/token";
  /** The JavaScript client the chat page imports. */
  static final String CLIENT_SCRIPT_PATH = "/js/wsgateway-client.js";

  final String host;
  final int port;
  final String path;
  /** HS256 secret, or {@code null}. */
  final byte[] jwtSecret;
  /** JWK set file path or http(s) URL, or {@code null}. */
  final String jwks;
  /** Instance id, or {@code null} to let the gateway generate one. */
  final String instanceId;
  final String redisUri;
  final String rabbitUri;
  /** Port of the admin listener (health, readiness, state, drain); {@code null} when unset. */
  final Integer adminPort;
  /** Redis key prefix, or {@code null} for the registry's default. */
  final String redisPrefix;
  /** RabbitMQ exchange prefix, or {@code null} for the broker's default. */
  final String rabbitPrefix;
  /** Drain window over which clients are told to reconnect, in ms. */
  final long drainSpreadMs;
  /** Drain deadline, in ms. */
  final long drainDeadlineMs;
  /** Whether sessions are kept for resume (in Redis when configured, else in memory). */
  final boolean recovery;
  /** Recovery window, in ms. */
  final long recoveryWindowMs;
  /** Dev mode: a random secret and {@code /dev/token}; only with {@code GATEWAY_DEV_MODE=true}. */
  final boolean devMode;
  /** The required {@code aud}, or {@code null}. */
  final String jwtAudience;
  /** Whether tokens of any audience are accepted with a JWK set. */
  final boolean jwtAnyAudience;
  /** The required {@code iss}, or {@code null}. */
  final String jwtIssuer;
  /** Authentication deadline in ms; {@code null} for the library's default. */
  final Long authTimeoutMs;
  /** Bearer token of the admin routes, or {@code null}. */
  final String adminToken;
  /** Handshakes per remote address per period; 0 is off. */
  final int handshakesPerAddress;
  /** Period of the handshake limit, in ms. */
  final long handshakePeriodMs;
  /** Remote addresses the handshake limit tracks. */
  final int handshakeMaxAddresses;

  private ExampleConfig(Map<String, String> env) {
    this.devMode = bool(env, DEV_MODE, false);
    this.host = value(env, HOST, devMode ? DEV_MODE_HOST : DEFAULT_HOST);
    this.port = port(env, PORT, DEFAULT_PORT);
    this.path = path(value(env, PATH, DEFAULT_PATH));
    String secret = env.get(JWT_SECRET);
    if (secret != null && secret.isBlank()) {
      // Not "unset": a secret meant to be there and lost on the way must stop the start.
      throw new IllegalArgumentException(JWT_SECRET + ": blank (expected: >= " + MIN_SECRET_BYTES + " bytes of UTF-8)");
    }
    if (secret != null) {
      secret = secret.strip();
      byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
      if (bytes.length < MIN_SECRET_BYTES) {
        throw new IllegalArgumentException(
            JWT_SECRET + ": " + bytes.length + " bytes (expected: >= " + MIN_SECRET_BYTES + " bytes of UTF-8)");
      }
      this.jwtSecret = bytes;
    } else {
      this.jwtSecret = null;
    }
    this.jwks = value(env, JWKS, null);
    this.instanceId = value(env, INSTANCE_ID, null);
    this.redisUri = value(env, REDIS_URI, null);
    this.rabbitUri = value(env, RABBIT_URI, null);
    this.adminPort = env.containsKey(ADMIN_PORT) && !env.get(ADMIN_PORT).isBlank() ? port(env, ADMIN_PORT, 0) : null;
    this.redisPrefix = value(env, REDIS_PREFIX, null);
    this.rabbitPrefix = value(env, RABBIT_PREFIX, null);
    this.drainSpreadMs = millis(env, DRAIN_SPREAD_MS, io.wsgateway.DrainOptions.DEFAULT_RECONNECT_SPREAD.toMillis());
    this.drainDeadlineMs = millis(env, DRAIN_DEADLINE_MS, io.wsgateway.DrainOptions.DEFAULT_DEADLINE.toMillis());
    String recoveryValue = value(env, RECOVERY, "on");
    if (!recoveryValue.equals("on") && !recoveryValue.equals("off")) {
      throw new IllegalArgumentException(RECOVERY + ": " + recoveryValue + " (expected: on or off)");
    }
    this.recovery = recoveryValue.equals("on");
    this.recoveryWindowMs = millis(env, RECOVERY_WINDOW_MS, io.wsgateway.recovery.InMemoryRecoveryStore.DEFAULT_WINDOW.toMillis());
    if (recoveryWindowMs == 0) {
      throw new IllegalArgumentException(RECOVERY_WINDOW_MS + ": 0 (expected: > 0)");
    }
    if (drainDeadlineMs <= drainSpreadMs) {
      throw new IllegalArgumentException(DRAIN_DEADLINE_MS + ": " + drainDeadlineMs + " (expected: > "
          + DRAIN_SPREAD_MS + " " + drainSpreadMs + ")");
    }
    this.jwtAudience = value(env, JWT_AUDIENCE, null);
    this.jwtAnyAudience = bool(env, JWT_ANY_AUDIENCE, false);
    this.jwtIssuer = value(env, JWT_ISSUER, null);
    if (jwtAudience != null && jwtAnyAudience) {
      throw new IllegalArgumentException(JWT_ANY_AUDIENCE + ": true (expected: not together with " + JWT_AUDIENCE + ")");
    }
    String authTimeout = value(env, AUTH_TIMEOUT_MS, null);
    this.authTimeoutMs = authTimeout == null ? null : millis(env, AUTH_TIMEOUT_MS, 0);
    if (authTimeoutMs != null && authTimeoutMs == 0) {
      throw new IllegalArgumentException(AUTH_TIMEOUT_MS + ": 0 (expected: > 0)");
    }
    this.adminToken = value(env, ADMIN_TOKEN, null);
    this.handshakesPerAddress = count(env, HANDSHAKES_PER_ADDRESS,
        GatewayOptions.DEFAULT_HANDSHAKE_RATE_LIMIT_PER_ADDRESS);
    this.handshakePeriodMs = millis(env, HANDSHAKE_PERIOD_MS,
        GatewayOptions.DEFAULT_HANDSHAKE_RATE_LIMIT_PERIOD.toMillis());
    if (handshakePeriodMs == 0) {
      throw new IllegalArgumentException(HANDSHAKE_PERIOD_MS + ": 0 (expected: > 0)");
    }
    this.handshakeMaxAddresses = count(env, HANDSHAKE_MAX_ADDRESSES,
        GatewayOptions.DEFAULT_HANDSHAKE_RATE_LIMIT_MAX_ADDRESSES);
    if (handshakeMaxAddresses == 0) {
      throw new IllegalArgumentException(HANDSHAKE_MAX_ADDRESSES + ": 0 (expected: > 0)");
    }
    // Last, so that a malformed value is reported as such rather than as a missing key.
    if (devMode && (jwtSecret != null || jwks != null)) {
      throw new IllegalArgumentException(DEV_MODE + ": true (expected: not together with " + JWT_SECRET + " or "
          + JWKS + "; dev mode makes up its own secret)");
    }
    if (!devMode && jwtSecret == null && jwks == null) {
      throw new IllegalStateException("no key configured: set " + JWT_SECRET + " or " + JWKS + ", or " + DEV_MODE
          + "=true to try the example on this machine (random secret, and /dev/token hands anyone a token)");
    }
    if (jwks != null && jwtAudience == null && !jwtAnyAudience) {
      throw new IllegalStateException(JWT_AUDIENCE + ": not set (expected: the audience of this gateway's tokens "
          + "when " + JWKS + " is set; or " + JWT_ANY_AUDIENCE + "=true to accept any)");
    }
  }

  /**
   * Parses the configuration.
   *
   * @throws IllegalArgumentException naming the variable, the bad value (never a secret) and what was expected
   */
  static ExampleConfig from(Map<String, String> env) {
    return new ExampleConfig(Objects.requireNonNull(env, "env"));
  }

  /** Whether {@link #jwks} is a URL rather than a file path. */
  boolean jwksIsUrl() {
    String lower = jwks == null ? "" : jwks.toLowerCase(Locale.ROOT);
    return lower.startsWith("http://") || lower.startsWith("https://");
  }

  URI jwksUri() {
    return URI.create(jwks);
  }

  private static String value(Map<String, String> env, String name, String fallback) {
    String v = env.get(name);
    return v == null || v.isBlank() ? fallback : v.strip();
  }

  private static boolean bool(Map<String, String> env, String name, boolean fallback) {
    String v = value(env, name, null);
    if (v == null) {
      return fallback;
    }
    if (v.equalsIgnoreCase("true")) {
      return true;
    }
    if (v.equalsIgnoreCase("false")) {
      return false;
    }
    throw new IllegalArgumentException(name + ": " + v + " (expected: true or false)");
  }

  private static int count(Map<String, String> env, String name, int fallback) {
    String v = value(env, name, null);
    if (v == null) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(v);
      if (n >= 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(name + ": " + v + " (expected: an integer >= 0)");
  }

  private static long millis(Map<String, String> env, String name, long fallback) {
    String v = value(env, name, null);
    if (v == null) {
      return fallback;
    }
    try {
      long ms = Long.parseLong(v.trim());
      if (ms < 0) {
        throw new NumberFormatException();
      }
      return ms;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": " + v + " (expected: milliseconds >= 0)");
    }
  }

  private static int port(Map<String, String> env, String name, int fallback) {
    String v = value(env, name, null);
    if (v == null) {
      return fallback;
    }
    try {
      int p = Integer.parseInt(v);
      if (p >= 0 && p <= 65535) {
        return p;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(name + ": " + v + " (expected: 0..65535)");
  }

  private static String path(String p) {
    if (!p.startsWith("/")) {
      throw new IllegalArgumentException(PATH + ": " + p + " (expected: starts with /)");
    }
    if (p.equals(PAGE_PATH) || p.equals(PAGE_ALIAS_PATH) || p.equals(DEV_TOKEN_PATH) || p.equals(CLIENT_SCRIPT_PATH)) {
      throw new IllegalArgumentException(PATH + ": " + p + " (expected: not " + PAGE_PATH + ", " + PAGE_ALIAS_PATH
          + ", " + DEV_TOKEN_PATH + " or " + CLIENT_SCRIPT_PATH + ", which the example serves)");
    }
    return p;
  }

  /** Every setting, secrets masked, for the startup log. */
  @Override
  public String toString() {
    return "ExampleConfig{host=" + host + ", port=" + port + ", path=" + path
        + ", jwtSecret=" + (jwtSecret == null ? null : "<set>") + ", jwks=" + jwks + ", instanceId=" + instanceId
        + ", redisUri=" + mask(redisUri) + ", redisPrefix=" + redisPrefix + ", rabbitUri=" + mask(rabbitUri)
        + ", rabbitPrefix=" + rabbitPrefix + ", adminPort=" + adminPort + ", recovery=" + recovery
        + ", recoveryWindowMs=" + recoveryWindowMs + ", drainSpreadMs=" + drainSpreadMs + ", drainDeadlineMs="
        + drainDeadlineMs + ", devMode=" + devMode + ", jwtAudience=" + jwtAudience + ", jwtAnyAudience="
        + jwtAnyAudience + ", jwtIssuer=" + jwtIssuer + ", authTimeoutMs=" + authTimeoutMs + ", adminToken="
        + (adminToken == null ? null : "<set>") + ", handshakesPerAddress=" + handshakesPerAddress
        + ", handshakePeriodMs=" + handshakePeriodMs + ", handshakeMaxAddresses=" + handshakeMaxAddresses + "}";
  }

  /** Hides the password of a {@code scheme://user:password@host} URI. */
  private static String mask(String uri) {
    if (uri == null) {
      return null;
    }
    return uri.replaceFirst("(://[^:/@]*:)[^@/]*@", "$1****@");
  }
}
