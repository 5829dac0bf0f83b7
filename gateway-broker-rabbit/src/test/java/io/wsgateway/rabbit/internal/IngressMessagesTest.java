package io.wsgateway.rabbit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.broker.Envelope;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class IngressMessagesTest {

  private final IngressMessages ingress = new IngressMessages(1024 * 1024);

  private Envelope parse(String json) {
    return ingress.parse(json.getBytes(StandardCharsets.UTF_8));
  }

  private String rejection(String json) {
    return assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage();
  }

  @Test
  @DisplayName("a user message keeps id, from and data; a topic message gets a generated id")
  void parses() {
    Envelope user = parse("{\"to\":\"alice\",\"id\":\"m1\",\"from\":\"svc\",\"data\":{\"a\":[1,true,null]}}");
    assertEquals(Envelope.Kind.USER, user.kind());
    assertEquals("alice", user.target());
    assertEquals("m1", user.id());
    assertEquals("svc", user.from());
    assertNull(user.origin());
    assertEquals("{\"a\":[1,true,null]}", user.dataAsString());
    Envelope topic = parse("{\"topic\":\"news\",\"data\":\"x\"}");
    assertEquals(Envelope.Kind.TOPIC, topic.kind());
    assertEquals("\"x\"", topic.dataAsString());
    assertEquals(36, topic.id().length());
  }

  @Test
  @DisplayName("malformed bodies are rejected with a reason")
  void rejects() {
    assertEquals("ingress body: ARRAY (expected: a JSON object)", rejection("[1]"));
    assertEquals("ingress body: neither \"to\" and \"topic\" (expected: exactly one)", rejection("{\"data\":1}"));
    assertEquals("ingress body: both \"to\" and \"topic\" (expected: exactly one)", rejection("{\"to\":\"u\",\"topic\":\"t\",\"data\":1}"));
    assertEquals("ingress body: no \"data\" (expected: a JSON value)", rejection("{\"to\":\"u\"}"));
    assertEquals("ingress body: \"to\" is NUMBER (expected: a non-empty string)", rejection("{\"to\":5,\"data\":1}"));
    rejection("not json");
    rejection("");
  }

  @Test
  @DisplayName("to, topic, from and id hold 1..255 bytes of UTF-8; longer ones are refused, naming the field and its size")
  void fieldBounds() {
    String max = "\u00e9".repeat(127) + "a"; // 255 bytes
    Envelope fits = parse("{\"to\":\"" + max + "\",\"from\":\"" + max + "\",\"id\":\"" + max + "\",\"data\":1}");
    assertEquals(max, fits.target());
    assertEquals(max, fits.from());
    assertEquals(max, fits.id());
    String over = max + "a";
    for (String field : new String[] {"to", "topic", "from", "id"}) {
      String json = field.equals("to") || field.equals("topic")
          ? "{\"" + field + "\":\"" + over + "\",\"data\":1}"
          : "{\"to\":\"u\",\"" + field + "\":\"" + over + "\",\"data\":1}";
      assertEquals("ingress body: \"" + field + "\" is 256 bytes (expected: 1..255 bytes of UTF-8)", rejection(json));
    }
    assertEquals("ingress body: \"from\" is 70000 bytes (expected: 1..255 bytes of UTF-8)",
        rejection("{\"to\":\"u\",\"from\":\"" + "x".repeat(70_000) + "\",\"data\":1}"));
  }

  @Test
  @DisplayName("a body over the configured maximum is refused before it is parsed")
  void bodyBound() {
    IngressMessages small = new IngressMessages(32);
    String body = "{\"to\":\"u\",\"data\":\"" + "x".repeat(20) + "\"}";
    assertEquals("ingress body: 40 bytes (expected: at most 32)",
        assertThrows(IllegalArgumentException.class, () -> small.parse(body.getBytes(StandardCharsets.UTF_8))).getMessage());
  }

  @Test
  @DisplayName("a member given twice, or anything after the object, is refused: no ambiguity about the recipient")
  void strict() {
    assertTrue(rejection("{\"to\":\"alice\",\"to\":\"bob\",\"data\":1}").startsWith("ingress body: not JSON (Duplicate field 'to'"));
    assertTrue(rejection("{\"to\":\"alice\",\"data\":1} {\"to\":\"bob\"}").startsWith("ingress body: not JSON ("));
  }

  @Test
  @DisplayName("a number Jackson cannot convert is refused as not JSON, with the documented exception (found by fuzzing)")
  void unconvertibleNumber() {
    String message = rejection("{\"to\":\"u\",\"data\":1e" + "2".repeat(80) + "}");
    assertTrue(message.startsWith("ingress body: not JSON ("), message);
  }

  @Test
  @DisplayName("numbers in data are kept exactly, and stay JSON: 1e400 does not become Infinity")
  void numbers() {
    assertEquals("[1E+400,0.1,123456789012345678901234567890]",
        parse("{\"to\":\"u\",\"data\":[1e400,0.1,123456789012345678901234567890]}").dataAsString());
  }
}
