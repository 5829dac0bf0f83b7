package io.wsgateway.examples.cluster;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.wsgateway.Gateway;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.EnvelopeHandler;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.NettyGateway;
import io.wsgateway.netty.testing.TestClient;
import io.wsgateway.rabbit.RabbitBroker;
import io.wsgateway.rabbit.RabbitBrokerOptions;
import io.wsgateway.redis.RedisConnectionRegistry;
import io.wsgateway.redis.RedisRecoveryOptions;
import io.wsgateway.redis.RedisRecoveryStore;
import io.wsgateway.redis.RedisRegistryOptions;
import io.wsgateway.registry.ConnectionRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Several real gateway instances on one machine: each with its own Redis registry client and
 * RabbitMQ broker connection (as separate processes would have), sharing the machine's Redis and
 * RabbitMQ under a unique prefix that is removed afterwards.
 */
final class ClusterFixture implements AutoCloseable {

  static final String REDIS_URI = "redis://127.0.0.1:6379";
  static final String RABBIT_URI = "amqp://guest:guest@127.0.0.1:5672";

  final String runId = UUID.randomUUID().toString().substring(0, 8);
  final String redisPrefix = "wsgwtest:" + runId + ":";
  final String rabbitPrefix = "wsgwtest." + runId;
  final byte[] secret = ("cluster-secret-" + UUID.randomUUID()).getBytes(StandardCharsets.UTF_8);
  final List<Gateway> gateways = new ArrayList<>();
  /** The Redis the instances use: the machine's, or a test's private one ({@link #redisUri(String)}). */
  private String redisUri = REDIS_URI;
  final List<AutoCloseable> resources = new ArrayList<>();
  /** Envelopes each instance received from the broker, by instance id. */
  final Map<String, AtomicLong> brokerTraffic = new ConcurrentHashMap<>();

  Gateway start(String instanceId) {
    return start(instanceId, false);
  }

  /** Makes the instances started from now on use the Redis at {@code uri} (a test's private one). */
  ClusterFixture redisUri(String uri) {
    this.redisUri = uri;
    return this;
  }

  /**
   * Starts an instance; with {@code recovery}, a Redis recovery store under the registry's own key
   * prefix, as the example gateway configures it.
   */
  Gateway start(String instanceId, boolean recovery) {
    ConnectionRegistry registry = RedisConnectionRegistry.create(
        RedisRegistryOptions.builder().uri(redisUri).keyPrefix(redisPrefix).build());
    MessageBroker broker = counting(RabbitBroker.create(RabbitBrokerOptions.builder().uri(RABBIT_URI)
        .exchangePrefix(rabbitPrefix).upstreamEnabled(true).build()));
    RedisRecoveryStore store = recovery
        ? RedisRecoveryStore.create(RedisRecoveryOptions.builder().uri(redisUri).keyPrefix(redisPrefix).build())
        : null;
    NettyGateway.Builder builder = NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).instanceId(instanceId).forwardUpstream(true).build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(secret).build())
        .registry(registry)
        .broker(broker);
    if (store != null) {
      builder.recovery(store);
    }
    Gateway gateway = builder.build();
    gateway.start();
    gateways.add(gateway);
    resources.add(gateway);
    resources.add(broker);
    resources.add(registry);
    if (store != null) {
      resources.add(store);
    }
    return gateway;
  }

  /** Wraps a broker so the test sees how many envelopes reach each instance through it. */
  private MessageBroker counting(MessageBroker delegate) {
    return new MessageBroker() {
      @Override
      public CompletionStage<BrokerEndpoint> attach(String instanceId, EnvelopeHandler handler) {
        AtomicLong count = brokerTraffic.computeIfAbsent(instanceId, i -> new AtomicLong());
        return delegate.attach(instanceId, new EnvelopeHandler() {
          @Override
          public void onEnvelope(Envelope envelope) {
            count.incrementAndGet();
            handler.onEnvelope(envelope);
          }

          @Override
          public java.util.concurrent.CompletionStage<Void> onIngress(Envelope envelope) {
            return handler.onIngress(envelope);
          }
        });
      }

      @Override
      public void close() {
        delegate.close();
      }
    };
  }

  String token(String user) {
    return JwtTokens.hs256(secret, user, Map.of("topics", List.of("*")), Instant.now().plusSeconds(3600));
  }

  TestClient connect(Gateway g, String user) {
    TestClient c = TestClient.connect(URI.create("ws://127.0.0.1:" + g.port() + "/ws?access_token=" + token(user)));
    resources.add(0, c);
    return c;
  }

  Connection amqp() throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setUri(RABBIT_URI);
    Connection c = f.newConnection("wsgwtest-" + runId);
    resources.add(0, c);
    return c;
  }

  /** Closes the AMQP connection of one instance from the server side, as a broker restart would. */
  static void closeBrokerConnection(String instanceId) throws Exception {
    for (String line : rabbitmqctl("list_connections", "-q", "--no-table-headers", "pid", "client_properties")) {
      if (line.contains("wsgateway-" + instanceId + "\"") || line.contains("wsgateway-" + instanceId + ">>")
          || line.contains("\"wsgateway-" + instanceId)) {
        String pid = line.trim().split("\\s+")[0];
        rabbitmqctl("close_connection", pid, "test: simulated broker connection loss");
        return;
      }
    }
    throw new AssertionError("no RabbitMQ connection for instance " + instanceId);
  }

  static List<String> rabbitmqctl(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add("rabbitmqctl");
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        lines.add(line);
      }
    }
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError("rabbitmqctl " + String.join(" ", args) + " failed: " + lines);
    }
    return lines;
  }

  @Override
  public void close() throws Exception {
    for (AutoCloseable r : resources) {
      try {
        r.close();
      } catch (Exception ignored) {
        // best effort: the rest must still be closed
      }
    }
    cleanRabbit();
    cleanRedis();
  }

  private void cleanRabbit() throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setUri(RABBIT_URI);
    try (Connection c = f.newConnection("wsgwtest-cleanup-" + runId)) {
      for (String line : rabbitmqctl("list_queues", "-q", "--no-table-headers", "name")) {
        String q = line.trim();
        if (q.startsWith(rabbitPrefix)) {
          try (Channel ch = c.createChannel()) {
            ch.queueDelete(q);
          }
        }
      }
      for (String suffix : List.of(".inbox", ".topics", ".ingress", ".upstream")) {
        try (Channel ch = c.createChannel()) {
          ch.exchangeDelete(rabbitPrefix + suffix);
        }
      }
    }
  }

  private void cleanRedis() {
    RedisClient client = RedisClient.create(REDIS_URI);
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      RedisCommands<String, String> redis = c.sync();
      ScanCursor cursor = ScanCursor.INITIAL;
      do {
        var page = redis.scan(cursor, ScanArgs.Builder.matches(redisPrefix + "*").limit(1000));
        if (!page.getKeys().isEmpty()) {
          redis.del(page.getKeys().toArray(new String[0]));
        }
        cursor = page;
      } while (!cursor.isFinished());
    } finally {
      client.shutdown();
    }
  }
}
