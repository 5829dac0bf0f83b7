package io.wsgateway.netty.testing;

import io.wsgateway.Gateway;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.NettyGateway;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts a real gateway on an ephemeral port for a test class and hands out tokens and connected
 * clients; closes clients after each test and the gateway after all. Register it as a static
 * {@code @RegisterExtension} field. Users can test their own gateway assembly with it by passing a
 * customizer of the builder.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final GatewayExtension gateway = GatewayExtension.create(b -> b.messageHandler(myHandler));
 * }</pre>
 */
public final class GatewayExtension implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {

  private final byte[] secret = ("test-secret-" + UUID.randomUUID() + UUID.randomUUID()).getBytes(StandardCharsets.UTF_8);
  private final UnaryOperator<NettyGateway.Builder> customizer;
  private final UnaryOperator<GatewayOptions.Builder> options;
  private final List<AutoCloseable> clients = new CopyOnWriteArrayList<>();
  private Gateway gateway;
  private GatewayOptions opts;

  private GatewayExtension(UnaryOperator<GatewayOptions.Builder> options, UnaryOperator<NettyGateway.Builder> customizer) {
    this.options = Objects.requireNonNull(options, "options");
    this.customizer = Objects.requireNonNull(customizer, "customizer");
  }

  /** A gateway with default options (but port 0 and loopback) and an HS256 JWT authenticator. */
  public static GatewayExtension create() {
    return new GatewayExtension(o -> o, b -> b);
  }

  /** As {@link #create()}, with options and builder adjusted. */
  public static GatewayExtension create(UnaryOperator<GatewayOptions.Builder> options,
      UnaryOperator<NettyGateway.Builder> customizer) {
    return new GatewayExtension(options, customizer);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    opts = options.apply(GatewayOptions.builder().host("127.0.0.1").port(0)).build();
    NettyGateway.Builder builder = NettyGateway.builder()
        .options(opts)
        .authenticator(JwtAuthenticator.builder().hmacSecret(secret).build());
    gateway = customizer.apply(builder).build();
    gateway.start();
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    for (AutoCloseable c : clients) {
      c.close();
    }
    clients.clear();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (gateway != null) {
      gateway.close();
    }
  }

  public Gateway gateway() {
    return gateway;
  }

  public int port() {
    return gateway.port();
  }

  /** The HS256 secret tokens are signed with. */
  public byte[] secret() {
    return secret.clone();
  }

  /** A token for {@code user}, valid one hour, allowed the given topic patterns. */
  public String token(String user, String... topics) {
    return JwtTokens.hs256(secret, user, topics.length == 0 ? Map.of() : Map.of("topics", List.of(topics)),
        Instant.now().plus(Duration.ofHours(1)));
  }

  /** The WebSocket URI with {@code token} as the {@code access_token} query parameter. */
  public URI uri(String token) {
    return URI.create("ws://127.0.0.1:" + port() + opts.path() + "?access_token=" + token);
  }

  /** A connected client of {@code user} (closed after the test), allowed the given topics. */
  public TestClient connect(String user, String... topics) {
    TestClient client = TestClient.connect(uri(token(user, topics)));
    clients.add(client);
    return client;
  }

  /** Tracks a resource to close after the current test. */
  public <T extends AutoCloseable> T track(T resource) {
    clients.add(resource);
    return resource;
  }
}
