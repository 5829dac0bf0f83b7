package io.wsgateway.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
    ExampleGateway.Running gateway = start(Map.of(ExampleConfig.PORT, "0", ExampleConfig.HOST, "127.0.0.1"));
    assertTrue(gateway.devMode());

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
    assertEquals("{\"type\":\"ack\",\"id\":\"s1\"}", bob.nextRaw());
    alice.send("{\"type\":\"publish\",\"id\":\"p1\",\"topic\":\"room:lobby\",\"data\":{\"text\":\"hello room\"}}");
    assertEquals("{\"type\":\"ack\",\"id\":\"p1\"}", alice.nextRaw());
    JsonNode topic = bob.next();
    assertEquals("message", topic.path("type").asText());
    assertEquals("alice", topic.path("from").asText());
    assertEquals("room:lobby", topic.path("topic").asText());
    assertEquals("hello room", topic.path("data").path("text").asText());
    assertEquals(2, topic.path("seq").asLong(), "direct and topic messages share one seq stream");

    alice.send("{\"type\":\"send\",\"id\":\"d2\",\"to\":\"carol\",\"data\":1}");
    JsonNode offline = alice.next();
    assertEquals("error", offline.path("type").asText());
    assertEquals("d2", offline.path("id").asText());
    assertEquals("user_offline", offline.path("code").asText());
  }

  @Test
  @DisplayName("the chat page is served at / and /index.html, with the WebSocket path filled in")
  void servesPage() throws Exception {
    ExampleGateway.Running gateway = start(Map.of(ExampleConfig.PORT, "0", ExampleConfig.HOST, "127.0.0.1",
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
  @DisplayName("/dev/token answers 400 with a JSON error for a missing or invalid user")
  void devTokenRejectsBadUser() throws Exception {
    ExampleGateway.Running gateway = start(Map.of(ExampleConfig.PORT, "0", ExampleConfig.HOST, "127.0.0.1"));
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
