package io.wsgateway.examples;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The example gateway's configuration, read from environment variables (or flags mirroring them).
 * Immutable; every value is validated when parsed. A blank variable counts as unset, so {@code -e
 * GATEWAY_JWT_SECRET=} in a container does not mean an empty secret.
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

  static final int DEFAULT_PORT = 8080;
  static final String DEFAULT_HOST = "0.0.0.0";
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
    FLAGS = java.util.Collections.unmodifiableMap(flags);
  }

  /** Paths the example serves itself; the WebSocket path must not take one of them. */
  static final String PAGE_PATH = "/";
  static final String PAGE_ALIAS_PATH = "/index.html";
  static final String DEV_TOKEN_PATH = "/dev/token";

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

  private ExampleConfig(Map<String, String> env) {
    this.host = value(env, HOST, DEFAULT_HOST);
    this.port = port(env, PORT, DEFAULT_PORT);
    this.path = path(value(env, PATH, DEFAULT_PATH));
    String secret = value(env, JWT_SECRET, null);
    if (secret != null) {
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
  }

  /**
   * Parses the configuration.
   *
   * @throws IllegalArgumentException naming the variable, the bad value (never a secret) and what was expected
   */
  static ExampleConfig from(Map<String, String> env) {
    return new ExampleConfig(Objects.requireNonNull(env, "env"));
  }

  /** Dev mode: no key source configured, so the example makes up a secret and hands out tokens. */
  boolean devMode() {
    return jwtSecret == null && jwks == null;
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
    if (p.equals(PAGE_PATH) || p.equals(PAGE_ALIAS_PATH) || p.equals(DEV_TOKEN_PATH)) {
      throw new IllegalArgumentException(PATH + ": " + p + " (expected: not " + PAGE_PATH + ", " + PAGE_ALIAS_PATH
          + " or " + DEV_TOKEN_PATH + ", which the example serves)");
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
        + drainDeadlineMs + ", devMode=" + devMode() + "}";
  }

  /** Hides the password of a {@code scheme://user:password@host} URI. */
  private static String mask(String uri) {
    if (uri == null) {
      return null;
    }
    return uri.replaceFirst("(://[^:/@]*:)[^@/]*@", "$1****@");
  }
}
