package io.wsgateway.rabbit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.wsgateway.broker.Envelope;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class IngressMessagesTest {

  private final IngressMessages ingress = new IngressMessages();

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
}
