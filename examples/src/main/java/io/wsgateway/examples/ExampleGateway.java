package io.wsgateway.examples;

import io.wsgateway.DrainOptions;
import io.wsgateway.DrainReport;
import io.wsgateway.Gateway;
import io.wsgateway.GatewayState;
import io.wsgateway.rabbit.RabbitBroker;
import io.wsgateway.rabbit.RabbitBrokerOptions;
import io.wsgateway.redis.RedisConnectionRegistry;
import io.wsgateway.redis.RedisRegistryOptions;
import io.wsgateway.redis.RedisRecoveryOptions;
import io.wsgateway.redis.RedisRecoveryStore;
import io.wsgateway.recovery.InMemoryRecoveryStore;
import io.wsgateway.recovery.RecoveryStore;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import io.wsgateway.GatewayException;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.broker.InProcessBroker;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.NettyGateway;
import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InMemoryConnectionRegistry;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A runnable gateway configured by environment variables: JWT at the handshake, the default topics
 * authorizer, a chat page at {@code /}, and in dev mode ({@code GATEWAY_DEV_MODE=true}, on loopback by
 * default) a token endpoint.
 *
 * <pre>
 * java -jar gateway-example.jar [--port 8080] [--jwt-secret ...]   run the gateway
 * java -jar gateway-example.jar token alice                        print a token for alice
 * </pre>
 *
 * <p>Embedders and tests call {@link #start(Map)}, which returns a {@link Running} handle to close.
 */
public final class ExampleGateway {

  private static final Logger log = LoggerFactory.getLogger(ExampleGateway.class);
  private static final String PAGE_RESOURCE = "/static/index.html";
  /** The JavaScript client (gateway-client-js, built), which the chat page imports. */
  private static final String CLIENT_RESOURCE = "/static/js/wsgateway-client.js";
  /** Exit status for bad configuration or usage, as sysexits' EX_USAGE. */
  private static final int EXIT_USAGE = 64;

  private ExampleGateway() {}

  public static void main(String[] args) {
    // Netty's object recycler costs more than it saves under load (docs/configuration.md, "JVM settings").
    if (System.getProperty("io.netty.recycler.maxCapacityPerThread") == null) {
      System.setProperty("io.netty.recycler.maxCapacityPerThread", "0");
    }
    Map<String, String> env = new HashMap<>(System.getenv());
    List<String> positional = new ArrayList<>();
    try {
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        if (arg.equals("--help") || arg.equals("-h")) {
          usage(System.out);
          return;
        }
        if (!arg.startsWith("--")) {
          positional.add(arg);
          continue;
        }
        int eq = arg.indexOf('=');
        String flag = eq < 0 ? arg : arg.substring(0, eq);
        String variable = ExampleConfig.FLAGS.get(flag);
        if (variable == null) {
          throw new IllegalArgumentException("unknown option " + flag);
        }
        if (eq < 0 && i + 1 >= args.length) {
          throw new IllegalArgumentException(flag + " needs a value");
        }
        env.put(variable, eq < 0 ? args[++i] : arg.substring(eq + 1));
      }
      if (!positional.isEmpty() && positional.get(0).equals("token")) {
        if (positional.size() != 2) {
          throw new IllegalArgumentException("usage: token <user>");
        }
        System.out.println(token(env, positional.get(1)));
        return;
      }
      if (!positional.isEmpty()) {
        throw new IllegalArgumentException("unexpected argument " + positional.get(0));
      }
      Running running = start(env);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        running.close();
        System.out.flush();
        System.err.flush();
        // A JVM ended by SIGTERM exits 143 even after clean hooks; a completed drain is a clean exit.
        Runtime.getRuntime().halt(0);
      }, "gateway-shutdown"));
      printBanner(running, System.out);
      running.awaitClosed();
    } catch (IllegalArgumentException | IllegalStateException | UncheckedIOException e) {
      System.err.println("gateway-example: " + e.getMessage());
      System.err.println("run with --help for usage");
      System.exit(EXIT_USAGE);
    } catch (GatewayException e) {
      System.err.println("gateway-example: " + e.getMessage());
      System.exit(1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The {@code token <user>} subcommand: a token minted with {@code GATEWAY_JWT_SECRET}, allowed on
   * every topic, valid one hour.
   *
   * @throws IllegalStateException if the secret is not set
   */
  static String token(Map<String, String> env, String user) {
    ExampleConfig config = ExampleConfig.from(env);
    if (config.jwtSecret == null) {
      throw new IllegalStateException("token needs " + ExampleConfig.JWT_SECRET + " (or --jwt-secret)");
    }
    if (!DevTokenRoute.USER_ID.matcher(user).matches()) {
      throw new IllegalArgumentException("user: " + user + " (expected: 1-64 of [A-Za-z0-9._@-])");
    }
    Instant expiresAt = Instant.now().plus(DevTokenRoute.TOKEN_LIFETIME).truncatedTo(ChronoUnit.SECONDS);
    return DevTokenRoute.mint(config.jwtSecret, user, expiresAt);
  }

  /**
   * Starts a gateway configured by {@code env} (the variables of {@link ExampleConfig}). Blocks until
   * it listens.
   *
   * @throws IllegalArgumentException if a variable has a bad value
   * @throws IllegalStateException if the configuration is inconsistent
   * @throws UncheckedIOException if the {@code GATEWAY_JWKS} file cannot be read
   * @throws GatewayException if the gateway cannot start (e.g. the port is taken)
   */
  public static Running start(Map<String, String> env) {
    ExampleConfig config = ExampleConfig.from(env);
    log.info("starting with {}", config);
    // First, so that a registry or broker that cannot be had fails before anything else happens.
    ConnectionRegistry registry = registryFrom(config);
    MessageBroker broker = null;
    RecoveryStore recovery = null;
    try {
      broker = brokerFrom(config);
      recovery = recoveryFrom(config);
      NettyGateway.Builder builder = build(config).registry(registry).broker(broker);
      if (recovery != null) {
        builder.recovery(recovery);
      }
      Gateway gateway = builder.build();
      gateway.start();
      return new Running(gateway, registry, broker, recovery, config);
    } catch (RuntimeException e) {
      if (recovery != null) {
        recovery.close();
      }
      if (broker != null) {
        broker.close();
      }
      registry.close();
      throw e;
    }
  }

  /**
   * The gateway options the configuration asks for.
   *
   * @throws IllegalArgumentException if a value is out of the option's range (e.g. a short admin token)
   */
  static GatewayOptions options(ExampleConfig config) {
    GatewayOptions.Builder options = GatewayOptions.builder()
        .host(config.host)
        .port(config.port)
        .path(config.path);
    if (config.instanceId != null) {
      options.instanceId(config.instanceId);
    }
    if (config.adminPort != null) {
      options.adminPort(config.adminPort);
    }
    // With RabbitMQ, client frames of custom types go to backends through wsgateway.upstream.
    options.forwardUpstream(config.rabbitUri != null);
    if (config.authTimeoutMs != null) {
      options.authenticationTimeout(Duration.ofMillis(config.authTimeoutMs));
    }
    if (config.adminToken != null) {
      try {
        options.adminToken(config.adminToken);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(ExampleConfig.ADMIN_TOKEN + ": " + e.getMessage(), e);
      }
    }
    options.handshakeRateLimitPerAddress(config.handshakesPerAddress, Duration.ofMillis(config.handshakePeriodMs))
        .handshakeRateLimitMaxAddresses(config.handshakeMaxAddresses);
    return options.build();
  }

  /** The gateway builder: options, JWT authenticator (default topics authorizer), page and dev routes. */
  private static NettyGateway.Builder build(ExampleConfig config) {
    GatewayOptions options = options(config);
    JwtAuthenticator.Builder auth = JwtAuthenticator.builder();
    byte[] devSecret = null;
    if (config.devMode) {
      devSecret = new byte[ExampleConfig.MIN_SECRET_BYTES];
      new SecureRandom().nextBytes(devSecret);
      auth.hmacSecret(devSecret);
      warnDevMode(config.host);
    } else {
      if (config.jwtSecret != null) {
        auth.hmacSecret(config.jwtSecret);
      }
      if (config.jwks != null) {
        if (config.jwksIsUrl()) {
          auth.jwksUri(config.jwksUri());
        } else {
          auth.jwksFile(Path.of(config.jwks));
        }
      }
      if (config.jwtAudience != null) {
        auth.audience(config.jwtAudience);
      }
      if (config.jwtAnyAudience) {
        auth.allowAnyAudience();
      }
      if (config.jwtIssuer != null) {
        auth.issuer(config.jwtIssuer);
      }
    }

    NettyGateway.Builder builder = NettyGateway.builder()
        .options(options)
        .authenticator(auth.build());
    StaticPage page = StaticPage.load(PAGE_RESOURCE, config.path);
    builder.route(ExampleConfig.PAGE_PATH, page).route(ExampleConfig.PAGE_ALIAS_PATH, page)
        .route(ExampleConfig.CLIENT_SCRIPT_PATH, StaticPage.script(CLIENT_RESOURCE));
    if (devSecret != null) {
      builder.route(ExampleConfig.DEV_TOKEN_PATH, new DevTokenRoute(devSecret, Clock.systemUTC()));
    }
    return builder;
  }

  // ---- wiring of the external registry and broker ----

  /**
   * The connection registry: Redis when {@code GATEWAY_REDIS_URI} is set, otherwise in-memory. The
   * caller owns (and closes) what this returns.
   */
  static ConnectionRegistry registryFrom(ExampleConfig config) {
    if (config.redisUri != null) {
      RedisRegistryOptions.Builder options = RedisRegistryOptions.builder().uri(config.redisUri);
      if (config.redisPrefix != null) {
        options.keyPrefix(config.redisPrefix);
      }
      return RedisConnectionRegistry.create(options.build());
    }
    return InMemoryConnectionRegistry.create();
  }

  /**
   * The message broker: RabbitMQ when {@code GATEWAY_RABBIT_URI} is set, otherwise in-process. The
   * caller owns (and closes) what this returns.
   */
  static MessageBroker brokerFrom(ExampleConfig config) {
    if (config.rabbitUri != null) {
      RabbitBrokerOptions.Builder options = RabbitBrokerOptions.builder().uri(config.rabbitUri).upstreamEnabled(true);
      if (config.rabbitPrefix != null) {
        options.exchangePrefix(config.rabbitPrefix);
      }
      return RabbitBroker.create(options.build());
    }
    return InProcessBroker.create();
  }

  /**
   * The recovery store: Redis when {@code GATEWAY_REDIS_URI} is set, otherwise in memory; {@code null}
   * when {@code GATEWAY_RECOVERY=off}.
   */
  static RecoveryStore recoveryFrom(ExampleConfig config) {
    if (!config.recovery) {
      return null;
    }
    Duration window = Duration.ofMillis(config.recoveryWindowMs);
    if (config.redisUri != null) {
      RedisRecoveryOptions.Builder options = RedisRecoveryOptions.builder().uri(config.redisUri).window(window);
      if (config.redisPrefix != null) {
        options.keyPrefix(config.redisPrefix);
      }
      return RedisRecoveryStore.create(options.build());
    }
    return InMemoryRecoveryStore.create(window, InMemoryRecoveryStore.DEFAULT_MAX_MESSAGES, Clock.systemUTC());
  }

  // ---- output ----

  private static void warnDevMode(String host) {
    log.warn("""

        ************************************************************************
        *  DEV MODE (GATEWAY_DEV_MODE=true)                                    *
        *  A random HS256 secret was generated for this run, and               *
        *  GET /dev/token?user=<id> hands ANYONE a token for ANY user,         *
        *  allowed on EVERY topic. Do not expose this instance.                *
        *  Unset GATEWAY_DEV_MODE and set GATEWAY_JWT_SECRET or GATEWAY_JWKS   *
        *  for anything but a try-out on this machine.                         *
        ************************************************************************""");
    if (!host.equals(ExampleConfig.DEV_MODE_HOST) && !host.equals("localhost") && !host.equals("::1")) {
      log.warn("DEV MODE is listening on {}, not only on loopback: anyone who reaches it can act as any user", host);
    }
  }

  static void printBanner(Running running, PrintStream out) {
    out.println("Gateway " + running.gateway().instanceId() + " is listening:");
    out.println("  WebSocket  " + running.wsUrl());
    out.println("  Chat page  " + running.pageUrl());
    if (running.devMode()) {
      out.println("  Dev tokens " + running.pageUrl() + "dev/token?user=alice   (DEV MODE)");
    }
    out.println("Stop with Ctrl-C (SIGINT) or SIGTERM.");
  }

  private static void usage(PrintStream out) {
    out.println("""
        Usage: java -jar gateway-example.jar [options]       run the example gateway
               java -jar gateway-example.jar token <user>    print a token signed with GATEWAY_JWT_SECRET

        Options (each sets the environment variable beside it, and wins over it):""");
    ExampleConfig.FLAGS.forEach((flag, variable) -> out.printf("  %-30s %s%n", flag + " <v>", variable));
    out.println("""

        A key is required: GATEWAY_JWT_SECRET (>= 32 bytes) or GATEWAY_JWKS (with GATEWAY_JWT_AUDIENCE).
        GATEWAY_DEV_MODE=true instead runs DEV MODE on 127.0.0.1: a random secret, and
        GET /dev/token?user=<id> hands anyone a token. See docs/configuration.md and docs/security.md.""");
  }

  /** A started example gateway. Thread-safe; {@link #close()} is idempotent, and a second caller waits for the first. */
  public static final class Running implements AutoCloseable {

    private final Gateway gateway;
    private final ConnectionRegistry registry;
    private final MessageBroker broker;
    private final RecoveryStore recovery;
    private final ExampleConfig config;
    private final CountDownLatch closed = new CountDownLatch(1);

    private Running(Gateway gateway, ConnectionRegistry registry, MessageBroker broker, RecoveryStore recovery,
        ExampleConfig config) {
      this.gateway = gateway;
      this.registry = registry;
      this.broker = broker;
      this.recovery = recovery;
      this.config = config;
    }

    /** The gateway, e.g. to send to users from the host. */
    public Gateway gateway() {
      return gateway;
    }

    /** The bound port (the real one when configured with 0). */
    public int port() {
      return gateway.port();
    }

    /** Whether dev mode is on (random secret, {@code /dev/token} served). */
    public boolean devMode() {
      return config.devMode;
    }

    /** The WebSocket URL, with {@code localhost} for a wildcard bind address. */
    public String wsUrl() {
      return "ws://" + displayHost() + ":" + port() + config.path;
    }

    /** The chat page URL, ending in {@code /}. */
    public String pageUrl() {
      return "http://" + displayHost() + ":" + port() + "/";
    }

    private String displayHost() {
      String h = config.host;
      if (h.equals("0.0.0.0") || h.equals("::") || h.equals("[::]")) {
        return "localhost";
      }
      return h.contains(":") && !h.startsWith("[") ? "[" + h + "]" : h;
    }

    /** Blocks until {@link #close()} finished. */
    public void awaitClosed() throws InterruptedException {
      closed.await();
    }

    /**
     * Drains the gateway (clients are told to reconnect elsewhere, spread over the drain window; the
     * rest get 1001 at the deadline), closes it, then the broker and registry it was given. Blocks.
     * This is what SIGTERM does.
     */
    @Override
    public void close() {
      synchronized (this) {
        if (closed.getCount() == 0) {
          return;
        }
        try {
          if (gateway.state() == GatewayState.RUNNING || gateway.state() == GatewayState.DRAINING) {
            log.info("draining gateway {}", gateway.instanceId());
            DrainOptions drain = DrainOptions.builder()
                .reconnectSpread(Duration.ofMillis(config.drainSpreadMs))
                .deadline(Duration.ofMillis(config.drainDeadlineMs))
                .build();
            try {
              DrainReport report = gateway.drain(drain).toCompletableFuture()
                  .get(config.drainDeadlineMs + 5_000, TimeUnit.MILLISECONDS);
              log.info("drained: {}", report);
            } catch (Exception e) {
              log.warn("drain did not finish cleanly: {}", e.toString());
            }
          }
          log.info("shutting down gateway {}", gateway.instanceId());
          gateway.close();
        } finally {
          try {
            broker.close();
            if (recovery != null) {
              recovery.close();
            }
          } finally {
            registry.close();
            closed.countDown();
          }
        }
      }
    }
  }
}
