package io.wsgateway.netty.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A real WebSocket client for tests, on the JDK's {@code java.net.http.WebSocket}: collects every
 * text frame as JSON and records how the connection closed. Thread-safe.
 */
public final class TestClient implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
  private final CompletableFuture<int[]> closed = new CompletableFuture<>();
  private volatile String closeReason;
  private final WebSocket socket;
  private final JsonNode welcome;

  private TestClient(URI uri, String bearer) {
    WebSocket.Builder builder = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
    if (bearer != null) {
      builder.header("Authorization", "Bearer " + bearer);
    }
    this.socket = builder.buildAsync(uri, new Listener()).join();
    this.welcome = next(f -> true);
    if (!"welcome".equals(welcome.path("type").asText())) {
      throw new AssertionError("first frame is not a welcome: " + welcome);
    }
  }

  /** Connects and waits for the welcome frame. */
  public static TestClient connect(URI uri) {
    return new TestClient(uri, null);
  }

  /** Connects with the token in an {@code Authorization: Bearer} header. */
  public static TestClient connectWithHeader(URI uri, String token) {
    return new TestClient(uri, token);
  }

  public JsonNode welcome() {
    return welcome;
  }

  /** Sends a text frame. */
  public TestClient send(String text) {
    socket.sendText(text, true).join();
    return this;
  }

  /** Sends a JSON object built from alternating keys and values (values already JSON-encoded). */
  public TestClient sendJson(String json) {
    return send(json);
  }

  /** The next frame matching {@code filter}; frames before it that do not match are dropped. */
  public JsonNode next(Predicate<JsonNode> filter) {
    long deadline = System.nanoTime() + Await.DEFAULT_TIMEOUT.toNanos();
    try {
      while (true) {
        long left = deadline - System.nanoTime();
        JsonNode frame = frames.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
        if (frame == null) {
          throw new AssertionError("no matching frame within " + Await.DEFAULT_TIMEOUT
              + (closed.isDone() ? "; connection closed with " + closed.join()[0] + " " + closeReason : ""));
        }
        if (filter.test(frame)) {
          return frame;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The next frame of {@code type}. */
  public JsonNode next(String type) {
    return next(f -> type.equals(f.path("type").asText()));
  }

  /** Collects the next {@code n} frames of {@code type}. */
  public List<JsonNode> next(String type, int n) {
    List<JsonNode> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(next(type));
    }
    return out;
  }

  /** Whether a frame of {@code type} arrives within {@code wait}; used to show that one does not. */
  public JsonNode poll(Duration wait) throws InterruptedException {
    return frames.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Waits for the close and returns its status code (1006 for a drop). */
  public int awaitClose() {
    try {
      return closed.get(Await.DEFAULT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)[0];
    } catch (Exception e) {
      throw new AssertionError("connection did not close within " + Await.DEFAULT_TIMEOUT, e);
    }
  }

  public String closeReason() {
    return closeReason;
  }

  public boolean isClosed() {
    return closed.isDone();
  }

  @Override
  public void close() {
    if (!socket.isOutputClosed()) {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").exceptionally(e -> null);
    }
    socket.abort();
  }

  private final class Listener implements WebSocket.Listener {
    private final StringBuilder text = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        try {
          frames.add(JSON.readTree(text.toString()));
        } catch (Exception e) {
          frames.add(JSON.createObjectNode().put("type", "unparseable").put("raw", text.toString()));
        }
        text.setLength(0);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      closeReason = reason;
      closed.complete(new int[] {statusCode});
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      closeReason = error.toString();
      closed.complete(new int[] {1006});
    }
  }
}
