package io.wsgateway;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** An HTTP response from a {@link HttpRoute}: status, content type, extra headers and body. Immutable. */
public final class HttpReply {

  private final int status;
  private final String contentType;
  private final Map<String, String> headers;
  private final byte[] body;

  private HttpReply(int status, String contentType, Map<String, String> headers, byte[] body) {
    if (status < 100 || status > 599) {
      throw new IllegalArgumentException("status: " + status + " (expected: 100..599)");
    }
    this.status = status;
    this.contentType = Objects.requireNonNull(contentType, "contentType");
    this.headers = Map.copyOf(headers);
    this.body = Objects.requireNonNull(body, "body");
  }

  /** A reply with a body of the given content type. */
  public static HttpReply of(int status, String contentType, byte[] body) {
    return new HttpReply(status, contentType, Map.of(), body);
  }

  /** A JSON reply; {@code json} must be a complete JSON document. */
  public static HttpReply json(int status, String json) {
    return of(status, "application/json; charset=utf-8", json.getBytes(StandardCharsets.UTF_8));
  }

  /** A plain-text reply. */
  public static HttpReply text(int status, String text) {
    return of(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
  }

  /** A copy of this reply with one more header. */
  public HttpReply withHeader(String name, String value) {
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
    return new HttpReply(status, contentType, copy, body);
  }

  public int status() {
    return status;
  }

  public String contentType() {
    return contentType;
  }

  /** Extra headers beyond content type and length. */
  public Map<String, String> headers() {
    return headers;
  }

  /** The body; do not modify. */
  public byte[] body() {
    return body;
  }
}
