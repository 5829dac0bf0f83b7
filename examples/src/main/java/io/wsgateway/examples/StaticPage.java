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
 * Serves one file from the class path, read once at construction: the chat page, whose {@value
 * #WS_PATH} placeholder becomes the configured WebSocket path so that the page follows {@code
 * GATEWAY_PATH}, or a script as it is (the JavaScript client the page imports). Immutable and
 * thread-safe.
 */
final class StaticPage implements HttpRoute {

  static final String WS_PATH = "{{wsPath}}";
  static final String HTML = "text/html; charset=utf-8";
  static final String JAVASCRIPT = "text/javascript; charset=utf-8";

  private final byte[] body;
  private final String contentType;

  private StaticPage(byte[] body, String contentType) {
    this.body = body;
    this.contentType = contentType;
  }

  /**
   * Loads {@code resource} (a class-path name such as {@code /static/index.html}).
   *
   * @throws IllegalStateException if the resource is missing
   */
  static StaticPage load(String resource, String wsPath) {
    String html = new String(read(resource), StandardCharsets.UTF_8);
    return new StaticPage(html.replace(WS_PATH, escapeAttribute(wsPath)).getBytes(StandardCharsets.UTF_8), HTML);
  }

  /**
   * Loads the ES module {@code resource} to serve as it is.
   *
   * @throws IllegalStateException if the resource is missing
   */
  static StaticPage script(String resource) {
    return new StaticPage(read(resource), JAVASCRIPT);
  }

  private static byte[] read(String resource) {
    try (InputStream in = StaticPage.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("class-path resource " + resource + " is missing");
      }
      return in.readAllBytes();
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
    // no-cache: the browser revalidates, so a page and client built together are loaded together.
    return CompletableFuture.completedFuture(HttpReply.of(200, contentType, body).withHeader("Cache-Control", "no-cache"));
  }

  private static String escapeAttribute(String s) {
    return s.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
