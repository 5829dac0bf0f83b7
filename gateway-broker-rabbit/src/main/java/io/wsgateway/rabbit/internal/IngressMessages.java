package io.wsgateway.rabbit.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wsgateway.broker.Envelope;
import java.io.IOException;
import java.util.UUID;

/**
 * Parses the JSON bodies backends publish to the ingress exchange into envelopes.
 *
 * <p>A body is an object with exactly one of {@code "to"} (a user id) or {@code "topic"}, a {@code
 * "data"} member holding any JSON value, and optionally {@code "from"} and {@code "id"} strings.
 * Thread-safe.
 */
final class IngressMessages {

  private final ObjectMapper mapper = new ObjectMapper();

  /**
   * The envelope {@code body} describes.
   *
   * @throws IllegalArgumentException saying what is wrong with the body
   */
  Envelope parse(byte[] body) {
    JsonNode root;
    try {
      root = mapper.readTree(body);
    } catch (IOException e) {
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
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("ingress body: unserializable \"data\"", e);
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
    return node.asText();
  }

  private static String firstLine(Exception e) {
    String message = String.valueOf(e.getMessage());
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
