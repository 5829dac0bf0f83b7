package io.wsgateway.examples;

import io.wsgateway.GatewayRequest;
import io.wsgateway.HttpReply;
import io.wsgateway.HttpRoute;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Serves one HTML page from the class path, read once at construction. The page's {@value #WS_PATH}
 * placeholder becomes the configured WebSocket path, so the page follows {@code GATEWAY_PATH}.
 * Immutable and thread-safe.
 */
final class StaticPage implements HttpRoute {

  static final String WS_PATH = "{{wsPath}}";

  private final byte[] body;

  private StaticPage(byte[] body) {
    this.body = body;
  }

  /**
   * Loads {@code resource} (a class-path name such as {@code /static/index.html}).
   *
   * @throws IllegalStateException if the resource is missing
   */
  static StaticPage load(String resource, String wsPath) {
    try (InputStream in = StaticPage.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("class-path resource " + resource + " is missing");
      }
      String html = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      return new StaticPage(html.replace(WS_PATH, escapeAttribute(wsPath)).getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }

  @Override
  public CompletionStage<HttpReply> handle(GatewayRequest request) {
    if (!request.method().equals("GET")) {
      return CompletableFuture.completedFuture(
          DevTokenRoute.error(405, "method_not_allowed", "use GET").withHeader("Allow", "GET"));
    }
    return CompletableFuture.completedFuture(HttpReply.of(200, "text/html; charset=utf-8", body));
  }

  private static String escapeAttribute(String s) {
    return s.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
