package io.wsgateway.chaos.workload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wsgateway.chaos.history.StreamKind;
import java.io.IOException;

/**
 * The {@code data} of every message the workload sends: its unique id and its place in its stream,
 * e.g. {@code {"id":"d.u03.u17.42","k":"d","src":"u03","dst":"u17","n":42}}. Immutable.
 *
 * @param id unique in the run: {@code <kind>.<source>.<target>.<n>}
 * @param kind the stream kind
 * @param source the sending user, publisher, or backend name
 * @param target the recipient user or the topic
 * @param n the number in the stream, from 1
 */
public record Payload(String id, StreamKind kind, String source, String target, long n) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The payload of message {@code n} of a stream. */
  public static Payload of(StreamKind kind, String source, String target, long n) {
    return new Payload(kind.code() + "." + source + "." + target + "." + n, kind, source, target, n);
  }

  /** As JSON. Ids, users and topics of the harness need no escaping. */
  public String json() {
    return "{\"id\":\"" + id + "\",\"k\":\"" + kind.code() + "\",\"src\":\"" + source + "\",\"dst\":\"" + target
        + "\",\"n\":" + n + "}";
  }

  /** The payload in {@code json}, or {@code null} if it is not one. */
  public static Payload parse(String json) {
    try {
      JsonNode node = JSON.readTree(json);
      if (node == null || !node.hasNonNull("id") || !node.hasNonNull("k") || !node.path("n").canConvertToLong()) {
        return null;
      }
      return new Payload(node.get("id").asText(), StreamKind.ofCode(node.get("k").asText()),
          node.path("src").asText(), node.path("dst").asText(), node.get("n").asLong());
    } catch (IOException | IllegalArgumentException e) {
      return null;
    }
  }
}
