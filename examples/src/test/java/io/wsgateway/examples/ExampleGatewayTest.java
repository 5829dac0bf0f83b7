package io.wsgateway.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wsgateway.netty.GatewayOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The example gateway end to end: real sockets, the JDK's HTTP and WebSocket clients. */
class ExampleGatewayTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "0123456789abcdef0123456789abcdef-test";

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  @DisplayName("in dev mode two users get tokens from /dev/token and exchange direct and topic messages")
  void devModeChat() throws Exception {
    ExampleGateway.Running gateway = start(Map.of(ExampleConfig.PORT, "0", ExampleConfig.DEV_MODE, "true"));
    assertTrue(gateway.devMode());
    assertEquals("ws://127.0.0.1:" + gateway.port() + "/ws", gateway.wsUrl(), "dev mode binds to loopback");

    Client alice = connect(gateway, devToken(gateway, "alice"));
    Client bob = connect(gateway, devToken(gateway, "bob"));
    JsonNode welcome = alice.next();
    assertEquals("welcome", welcome.path("type").asText());
    assertEquals("alice", welcome.path("user").asText());
    assertEquals(gateway.gateway().instanceId(), welcome.path("instance").asText());
    assertTrue(welcome.path("expires_at").asLong() > System.currentTimeMillis());
    assertEquals("bob", bob.next().path("user").asText());

    alice.send("{\"type\":\"send\",\"id\":\"d1\",\"to\":\"bob\",\"data\":{\"text\":\"hi bob\"}}");
    assertEquals("{\"type\":\"ack\",\"id\":\"d1\"}", alice.nextRaw());
    JsonNode direct = bob.next();
    assertEquals("message", direct.path("type").asText());
    assertEquals("alice", direct.path("from").asText());
    assertFalse(direct.has("topic"));
    assertEquals("hi bob", direct.path("data").path("text").asText());
    assertEquals(1, direct.path("seq").asLong());

    bob.send("{\"type\":\"subscribe\",\"id\":\"s1\",\"topic\":\"room:lobby\"}");
    String subscribed = bob.nextRaw();
    assertTrue(subscribed.startsWith("{\"type\":\"ack\",\"id\":\"s1\",\"topic\":\"room:lobby\",\"offset\":0,\"epoch\":\""),
        "the example keeps topic history (recovery is on by default): " + subscribed);
    alice.send("{\"type\":\"publish\",\"id\":\"p1\",\"topic\":\"room:lobby\",\"data\":{\"text\":\"hello room\"}}");
    assertEquals("{\"type\":\"ack\",\"id\":\"p1\"}", alice.nextRaw());
    JsonNode topic = bob.next();
    assertEquals("message", topic.path("type").asText());
    assertEquals("alice", topic.path("from").asText());
    assertEquals("room:lobby", topic.path("topic").asText());
    assertEquals("hello room", topic.path("data").path("text").asText());
    assertEquals(1, topic.path("offset").asLong(), "topic messages are numbered in their topic's history");
    assertFalse(topic.has("seq"), "and are not in the session's stream: " + topic);

    alice.send("{\"type\":\"send\",\"id\":\"d2\",\"to\":\"carol\",\"data\":1}");
    JsonNode offline = alice.next();
    assertEquals("error", offline.path("type").asText());
    assertEquals("d2", offline.path("id").asText());
    assertEquals("user_offline", offline.path("code").asText());
  }

  @Test
  @DisplayName("the chat page is served at / and /index.html, with the WebSocket path filled in")
  void servesPage() throws Exception {
    ExampleGateway.Running gateway = start(Map.of(ExampleConfig.PORT, "0", ExampleConfig.DEV_MODE, "true",
        ExampleConfig.PATH, "/chat"));
    for (String path : List.of("/", "/index.html")) {
      HttpResponse<String> page = get(gateway, path);
      assertEquals(200, page.statusCode(), path);
      assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/html"), path);
      assertTrue(page.body().contains("<title>wsgateway chat</title>"), path);
      assertTrue(page.body().contains("<meta name=\"gateway-ws-path\" content=\"/chat\">"), path);
    }
  }

  @Test
  @DisplayName("the chat page imports the JavaScript client, which is served as an ES module")
  void servesClientScript() throws Exception {
    ExampleGateway.Running gateway = start(Map.of(ExampleConfig.PORT, "0", ExampleConfig.DEV_MODE, "true"));
    assertTrue(get(gateway, "/").body().contains("from \"" + ExampleConfig.CLIENT_SCRIPT_PATH + "\""),
        "the page imports " + ExampleConfig.CLIENT_SCRIPT_PATH);
    HttpResponse<String> script = get(gateway, ExampleConfig.CLIENT_SCRIPT_PATH);
    assertEquals(200, script.statusCode());
    assertEquals("text/javascript; charset=utf-8", script.headers().firstValue("content-type").orElse(""));
    assertTrue(script.body().contains("export {") && script.body().contains("GatewayClient"),
        "an ES module exporting GatewayClient (gateway-client-js, built)");
  }

  @Test
  @DisplayName("/dev/token answers 400 with a JSON error for a missing or invalid user")
  void devTokenRejectsBadUser() throws Exception {
    ExampleGateway.Running gateway = start(Map.of(ExampleConfig.PORT, "0", ExampleConfig.DEV_MODE, "true"));
    HttpResponse<String> missing = get(gateway, "/dev/token");
    assertEquals(400, missing.statusCode());
    assertEquals("missing_user", JSON.readTree(missing.body()).path("error").asText());
    HttpResponse<String> invalid = get(gateway, "/dev/token?user=a%20b");
    assertEquals(400, invalid.statusCode());
    assertEquals("invalid_user", JSON.readTree(invalid.body()).path("error").asText());
  }

  @Test
  @DisplayName("with GATEWAY_JWT_SECRET there is no /dev/token, and tokens from the token subcommand connect")
  void secretModeHasNoDevToken() throws Exception {
    Map<String, String> env = Map.of(ExampleConfig.PORT, "0", ExampleConfig.HOST, "127.0.0.1",
        ExampleConfig.JWT_SECRET, SECRET);
    ExampleGateway.Running gateway = start(env);
    assertFalse(gateway.devMode());
    HttpResponse<String> devToken = get(gateway, "/dev/token?user=alice");
    assertEquals(404, devToken.statusCode());
    assertEquals("not_found", JSON.readTree(devToken.body()).path("error").asText());

    Client alice = connect(gateway, ExampleGateway.token(env, "alice"));
    assertEquals("alice", alice.next().path("user").asText());
  }

  @Test
  @DisplayName("bad configuration fails with a message naming the variable")
  void rejectsBadConfiguration() {
    assertEquals("GATEWAY_JWT_SECRET: 5 bytes (expected: >= 32 bytes of UTF-8)",
        assertThrows(IllegalArgumentException.class,
            () -> ExampleConfig.from(Map.of(ExampleConfig.JWT_SECRET, "short"))).getMessage());
    assertEquals("GATEWAY_PORT: http (expected: 0..65535)",
        assertThrows(IllegalArgumentException.class,
            () -> ExampleConfig.from(Map.of(ExampleConfig.PORT, "http"))).getMessage());
    assertEquals("GATEWAY_DRAIN_DEADLINE_MS: 100 (expected: > GATEWAY_DRAIN_SPREAD_MS 10000)",
        assertThrows(IllegalArgumentException.class,
            () -> ExampleConfig.from(Map.of(ExampleConfig.DRAIN_DEADLINE_MS, "100"))).getMessage());
    assertThrows(IllegalStateException.class, () -> ExampleGateway.token(Map.of(), "alice"));
  }

  @Test
  @DisplayName("a blank or too short GATEWAY_JWT_SECRET is a startup error naming the variable, never dev mode")
  void blankSecretIsAnError() {
    for (String blank : List.of(" ", "", "\t  ")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ExampleConfig.from(Map.of(ExampleConfig.JWT_SECRET, blank)));
      assertEquals("GATEWAY_JWT_SECRET: blank (expected: >= 32 bytes of UTF-8)", e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> ExampleGateway.start(Map.of(ExampleConfig.PORT, "0", ExampleConfig.JWT_SECRET, blank)));
    }
    assertEquals("GATEWAY_JWT_SECRET: 31 bytes (expected: >= 32 bytes of UTF-8)",
        assertThrows(IllegalArgumentException.class,
            () -> ExampleConfig.from(Map.of(ExampleConfig.JWT_SECRET, "x".repeat(31)))).getMessage());
  }

  @Test
  @DisplayName("with neither a secret, a JWK set nor GATEWAY_DEV_MODE=true the example refuses to start")
  void noKeyRefused() {
    String expected = "no key configured: set GATEWAY_JWT_SECRET or GATEWAY_JWKS, or GATEWAY_DEV_MODE=true to try "
        + "the example on this machine (random secret, and /dev/token hands anyone a token)";
    assertEquals(expected, assertThrows(IllegalStateException.class, () -> ExampleConfig.from(Map.of())).getMessage());
    assertEquals(expected, assertThrows(IllegalStateException.class,
        () -> ExampleGateway.start(Map.of(ExampleConfig.PORT, "0"))).getMessage());
    assertEquals(expected, assertThrows(IllegalStateException.class,
        () -> ExampleConfig.from(Map.of(ExampleConfig.DEV_MODE, "false"))).getMessage());
  }

  @Test
  @DisplayName("dev mode only when GATEWAY_DEV_MODE=true: loopback unless GATEWAY_HOST says otherwise, never with a key")
  void devModeExplicit() {
    ExampleConfig dev = ExampleConfig.from(Map.of(ExampleConfig.DEV_MODE, "true"));
    assertTrue(dev.devMode);
    assertEquals("127.0.0.1", dev.host);
    assertEquals("0.0.0.0", ExampleConfig.from(Map.of(ExampleConfig.DEV_MODE, "TRUE", ExampleConfig.HOST, "0.0.0.0")).host);
    ExampleConfig production = ExampleConfig.from(Map.of(ExampleConfig.JWT_SECRET, SECRET));
    assertFalse(production.devMode);
    assertEquals("0.0.0.0", production.host);
    assertEquals("GATEWAY_DEV_MODE: yes (expected: true or false)", assertThrows(IllegalArgumentException.class,
        () -> ExampleConfig.from(Map.of(ExampleConfig.DEV_MODE, "yes"))).getMessage());
    assertEquals("GATEWAY_DEV_MODE: true (expected: not together with GATEWAY_JWT_SECRET or GATEWAY_JWKS; "
        + "dev mode makes up its own secret)", assertThrows(IllegalArgumentException.class,
        () -> ExampleConfig.from(Map.of(ExampleConfig.DEV_MODE, "true", ExampleConfig.JWT_SECRET, SECRET)))
        .getMessage());
  }

  @Test
  @DisplayName("a JWK set needs GATEWAY_JWT_AUDIENCE, unless GATEWAY_JWT_ANY_AUDIENCE=true waives it")
  void jwksNeedsAudience() {
    assertEquals("GATEWAY_JWT_AUDIENCE: not set (expected: the audience of this gateway's tokens when "
        + "GATEWAY_JWKS is set; or GATEWAY_JWT_ANY_AUDIENCE=true to accept any)",
        assertThrows(IllegalStateException.class,
            () -> ExampleConfig.from(Map.of(ExampleConfig.JWKS, "https://idp.example/jwks"))).getMessage());
    ExampleConfig withAudience = ExampleConfig.from(Map.of(ExampleConfig.JWKS, "https://idp.example/jwks",
        ExampleConfig.JWT_AUDIENCE, "chat", ExampleConfig.JWT_ISSUER, "https://idp.example"));
    assertEquals("chat", withAudience.jwtAudience);
    assertEquals("https://idp.example", withAudience.jwtIssuer);
    assertTrue(ExampleConfig.from(Map.of(ExampleConfig.JWKS, "https://idp.example/jwks",
        ExampleConfig.JWT_ANY_AUDIENCE, "true")).jwtAnyAudience);
    assertThrows(IllegalArgumentException.class, () -> ExampleConfig.from(Map.of(ExampleConfig.JWKS,
        "https://idp.example/jwks", ExampleConfig.JWT_AUDIENCE, "chat", ExampleConfig.JWT_ANY_AUDIENCE, "true")));
  }

  @Test
  @DisplayName("the hardening options come from their variables, with the library's defaults otherwise")
  void hardeningOptions() {
    GatewayOptions defaults = ExampleGateway.options(ExampleConfig.from(Map.of(ExampleConfig.JWT_SECRET, SECRET)));
    assertEquals(GatewayOptions.DEFAULT_AUTHENTICATION_TIMEOUT, defaults.authenticationTimeout());
    assertEquals(null, defaults.adminToken());
    assertEquals(0, defaults.handshakeRateLimitPerAddress());
    Map<String, String> env = Map.of(ExampleConfig.JWT_SECRET, SECRET,
        ExampleConfig.AUTH_TIMEOUT_MS, "1500",
        ExampleConfig.ADMIN_TOKEN, "admin-token-0123456789",
        ExampleConfig.HANDSHAKES_PER_ADDRESS, "20",
        ExampleConfig.HANDSHAKE_PERIOD_MS, "10000",
        ExampleConfig.HANDSHAKE_MAX_ADDRESSES, "1000");
    GatewayOptions options = ExampleGateway.options(ExampleConfig.from(env));
    assertEquals(Duration.ofMillis(1500), options.authenticationTimeout());
    assertEquals("admin-token-0123456789", options.adminToken());
    assertEquals(20, options.handshakeRateLimitPerAddress());
    assertEquals(Duration.ofSeconds(10), options.handshakeRateLimitPeriod());
    assertEquals(1000, options.handshakeRateLimitMaxAddresses());
    assertFalse(ExampleConfig.from(env).toString().contains("admin-token-0123456789"), "the token is masked");
    assertEquals("GATEWAY_AUTH_TIMEOUT_MS: 0 (expected: > 0)", assertThrows(IllegalArgumentException.class,
        () -> ExampleConfig.from(Map.of(ExampleConfig.JWT_SECRET, SECRET, ExampleConfig.AUTH_TIMEOUT_MS, "0")))
        .getMessage());
    assertEquals("GATEWAY_HANDSHAKES_PER_ADDRESS: many (expected: an integer >= 0)",
        assertThrows(IllegalArgumentException.class, () -> ExampleConfig.from(Map.of(ExampleConfig.JWT_SECRET, SECRET,
            ExampleConfig.HANDSHAKES_PER_ADDRESS, "many"))).getMessage());
    assertThrows(IllegalArgumentException.class, () -> ExampleGateway.options(ExampleConfig.from(Map.of(
        ExampleConfig.JWT_SECRET, SECRET, ExampleConfig.ADMIN_TOKEN, "short"))));
  }

  @Test
  @DisplayName("GATEWAY_ADMIN_TOKEN guards the admin routes of a running example")
  void adminToken() throws Exception {
    ExampleGateway.Running gateway = start(Map.of(ExampleConfig.PORT, "0", ExampleConfig.HOST, "127.0.0.1",
        ExampleConfig.JWT_SECRET, SECRET, ExampleConfig.ADMIN_PORT, "0",
        ExampleConfig.ADMIN_TOKEN, "admin-token-0123456789"));
    URI state = URI.create("http://127.0.0.1:" + gateway.gateway().adminPort() + "/admin/state");
    HttpResponse<String> refused = http.send(java.net.http.HttpRequest.newBuilder(state).timeout(TIMEOUT).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(401, refused.statusCode(), refused.body());
    HttpResponse<String> served = http.send(java.net.http.HttpRequest.newBuilder(state).timeout(TIMEOUT)
        .header("Authorization", "Bearer admin-token-0123456789").build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, served.statusCode(), served.body());
  }

  // ---- helpers ----

  private ExampleGateway.Running start(Map<String, String> env) {
    ExampleGateway.Running gateway = ExampleGateway.start(env);
    toClose.add(gateway);
    return gateway;
  }

  private HttpResponse<String> get(ExampleGateway.Running gateway, String pathAndQuery) throws Exception {
    return http.sendAsync(
            java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + pathAndQuery))
                .timeout(TIMEOUT).GET().build(),
            HttpResponse.BodyHandlers.ofString())
        .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  private String devToken(ExampleGateway.Running gateway, String user) throws Exception {
    HttpResponse<String> response = get(gateway, "/dev/token?user=" + user);
    assertEquals(200, response.statusCode(), response.body());
    JsonNode body = JSON.readTree(response.body());
    assertEquals(user, body.path("user").asText());
    assertTrue(body.path("expires_at").asLong() > System.currentTimeMillis());
    return body.path("token").asText();
  }

  private Client connect(ExampleGateway.Running gateway, String token) throws Exception {
    Client client = new Client();
    client.ws = http.newWebSocketBuilder()
        .connectTimeout(TIMEOUT)
        .buildAsync(URI.create("ws://127.0.0.1:" + gateway.port() + "/ws?access_token=" + token), client)
        .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    toClose.add(client);
    return client;
  }

  /** A WebSocket client that queues every complete text message it receives. */
  private static final class Client implements WebSocket.Listener, AutoCloseable {
    private final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
    private final StringBuilder partial = new StringBuilder();
    private WebSocket ws;

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        frames.add(partial.toString());
        partial.setLength(0);
      }
      webSocket.request(1);
      return null;
    }

    void send(String frame) throws Exception {
      ws.sendText(frame, true).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The next frame as received; fails after the timeout. */
    String nextRaw() throws InterruptedException {
      String frame = frames.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      assertNotNull(frame, "no frame within " + TIMEOUT);
      return frame;
    }

    JsonNode next() throws Exception {
      return JSON.readTree(nextRaw());
    }

    @Override
    public void close() throws Exception {
      if (!ws.isOutputClosed()) {
        CompletableFuture<WebSocket> closed = ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").toCompletableFuture();
        closed.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
    }
  }
}
