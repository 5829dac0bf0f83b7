package io.wsgateway.benchmarks.load;

import io.wsgateway.Gateway;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.NettyGateway;
import io.wsgateway.rabbit.RabbitBroker;
import io.wsgateway.rabbit.RabbitBrokerOptions;
import io.wsgateway.redis.RedisConnectionRegistry;
import io.wsgateway.redis.RedisRegistryOptions;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * A gateway for the load tool, configured by the same environment as the example gateway
 * ({@code GATEWAY_PORT}, {@code GATEWAY_JWT_SECRET}, {@code GATEWAY_INSTANCE_ID},
 * {@code GATEWAY_RABBIT_URI}, {@code GATEWAY_RABBIT_PREFIX}, {@code GATEWAY_REDIS_URI},
 * {@code GATEWAY_REDIS_PREFIX}) plus {@code GATEWAY_IO_THREADS}, with the per-connection frame rate
 * limit raised so the limit does not cap a throughput run, and no recovery store (measured
 * separately). Two of them with Redis and RabbitMQ make a cross-instance run ({@code route --url2}).
 * Runs until killed (SIGTERM closes the gateway through a shutdown hook).
 */
public final class BenchGateway {

  private BenchGateway() {}

  public static void main(String[] args) throws Exception {
    // Netty's object recycler costs more than it saves under load (docs/configuration.md, "JVM settings").
    if (System.getProperty("io.netty.recycler.maxCapacityPerThread") == null) {
      System.setProperty("io.netty.recycler.maxCapacityPerThread", "0");
    }
    String secret = env("GATEWAY_JWT_SECRET", null);
    if (secret == null) {
      System.err.println("GATEWAY_JWT_SECRET is required (>= 32 bytes)");
      System.exit(2);
    }
    GatewayOptions.Builder options = GatewayOptions.builder()
        .port(Integer.parseInt(env("GATEWAY_PORT", "8080")))
        .ioThreads(Integer.parseInt(env("GATEWAY_IO_THREADS", "0")))
        .clientMessagesPerSecond(10_000_000)
        .maxConnections(1_000_000);
    String instance = env("GATEWAY_INSTANCE_ID", null);
    if (instance != null) {
      options.instanceId(instance);
    }
    NettyGateway.Builder builder = NettyGateway.builder()
        .options(options.build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(secret.getBytes(StandardCharsets.UTF_8)).build());
    String rabbit = env("GATEWAY_RABBIT_URI", null);
    if (rabbit != null) {
      builder.broker(RabbitBroker.create(RabbitBrokerOptions.builder().uri(rabbit)
          .exchangePrefix(env("GATEWAY_RABBIT_PREFIX", RabbitBrokerOptions.DEFAULT_EXCHANGE_PREFIX)).build()));
    }
    String redis = env("GATEWAY_REDIS_URI", null);
    if (redis != null) {
      builder.registry(RedisConnectionRegistry.create(RedisRegistryOptions.builder().uri(redis)
          .keyPrefix(env("GATEWAY_REDIS_PREFIX", RedisRegistryOptions.DEFAULT_KEY_PREFIX))
          // GATEWAY_NEAR_CACHE=0 turns the registry's near cache off, for before/after runs.
          .nearCacheMaxEntries(Integer.parseInt(env("GATEWAY_NEAR_CACHE",
              Integer.toString(RedisRegistryOptions.DEFAULT_NEAR_CACHE_MAX_ENTRIES))))
          .build()));
    }
    Gateway gateway = builder.build();
    gateway.start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      gateway.close();
      stopped.countDown();
    }, "bench-gateway-shutdown"));
    System.out.println("BenchGateway " + gateway.instanceId() + " on port " + gateway.port() + " pid "
        + ProcessHandle.current().pid());
    stopped.await();
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }
}
