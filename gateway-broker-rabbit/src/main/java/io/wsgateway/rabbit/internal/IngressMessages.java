package io.wsgateway.rabbit.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.wsgateway.broker.Envelope;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Parses and bounds the JSON bodies backends publish to the ingress exchange into envelopes.
 *
 * <p>A body is an object with exactly one of {@code "to"} (a user id) or {@code "topic"}, a {@code
 * "data"} member holding any JSON value, and optionally {@code "from"} and {@code "id"} strings. Every
 * string member is 1 to {@link #MAX_FIELD_BYTES} bytes of UTF-8; the body at most the configured
 * maximum; a member given twice, or anything after the object, is refused. Whatever it accepts the
 * broker can carry: nothing it returns fails later in the codec. Thread-safe.
 */
final class IngressMessages {

  /**
   * The most UTF-8 bytes of {@code to}, {@code topic}, {@code from} and {@code id}: 255, what an AMQP
   * routing key holds (a topic becomes one). Bounded for the same reason a client's ids are: each id
   * is remembered per session for de-duplication, and a user id is a registry key.
   */
  static final int MAX_FIELD_BYTES = 255;

  private final ObjectMapper mapper = JsonMapper.builder()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      // Keep every number exactly; a double would turn 1e400 into Infinity, which is not JSON.
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .build();
  private final int maxBodyBytes;

  IngressMessages(int maxBodyBytes) {
    this.maxBodyBytes = maxBodyBytes;
  }

  /**
   * The envelope {@code body} describes.
   *
   * @throws IllegalArgumentException saying what is wrong with the body; no other exception
   */
  Envelope parse(byte[] body) {
    if (body.length > maxBodyBytes) {
      throw new IllegalArgumentException("ingress body: " + body.length + " bytes (expected: at most " + maxBodyBytes + ")");
    }
    JsonNode root;
    try {
      root = mapper.readTree(body);
    } catch (IOException | RuntimeException e) {
      // RuntimeException too: a number Jackson cannot convert (an exponent of 80 digits, found by
      // fuzzing) fails with a NumberFormatException, not a JsonProcessingException.
      throw new IllegalArgumentException("ingress body: not JSON (" + firstLine(e) + ")", e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("ingress body: " + (root == null ? "empty" : root.getNodeType()) + " (expected: a JSON object)");
    }
    String to = optionalText(root, "to");
    String topic = optionalText(root, "topic");
    if ((to == null) == (topic == null)) {
      throw new IllegalArgumentException("ingress body: " + (to == null ? "neither" : "both") + " \"to\" and \"topic\" (expected: exactly one)");
    }
    JsonNode data = root.get("data");
    if (data == null) {
      throw new IllegalArgumentException("ingress body: no \"data\" (expected: a JSON value)");
    }
    String from = optionalText(root, "from");
    String id = optionalText(root, "id");
    if (id == null) {
      id = UUID.randomUUID().toString();
    }
    byte[] payload;
    try {
      payload = mapper.writeValueAsBytes(data);
    } catch (JsonProcessingException | RuntimeException e) {
      throw new IllegalArgumentException("ingress body: unserializable \"data\" (" + firstLine(e) + ")", e);
    }
    // Ingress is not routed by an instance yet: no origin.
    return to != null
        ? Envelope.toUser(id, to, from, payload, null)
        : Envelope.toTopic(id, topic, from, payload, null);
  }

  private static String optionalText(JsonNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isTextual() || node.asText().isEmpty()) {
      throw new IllegalArgumentException("ingress body: \"" + field + "\" is " + node.getNodeType() + " (expected: a non-empty string)");
    }
    String text = node.asText();
    // A UTF-16 unit takes at most 3 bytes of UTF-8: short strings need no counting.
    if (text.length() > MAX_FIELD_BYTES / 3) {
      int bytes = text.getBytes(StandardCharsets.UTF_8).length;
      if (bytes > MAX_FIELD_BYTES) {
        throw new IllegalArgumentException("ingress body: \"" + field + "\" is " + bytes + " bytes (expected: 1.."
            + MAX_FIELD_BYTES + " bytes of UTF-8)");
      }
    }
    return text;
  }

  private static String firstLine(Exception e) {
    String message = String.valueOf(e.getMessage());
    int newline = message.indexOf('\n');
    String line = newline < 0 ? message : message.substring(0, newline);
    // Jackson quotes the offending input: keep a hostile body out of the logs beyond a preview.
    return line.length() > 200 ? line.substring(0, 200) + "..." : line;
  }
}
