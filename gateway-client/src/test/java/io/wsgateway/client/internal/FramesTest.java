package io.wsgateway.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Frames")
class FramesTest {

  @Test
  @DisplayName("slice the data of a message byte for byte, whatever JSON value it is")
  void data() {
    for (String data : new String[] {"{\"a\":[1,2,{\"b\":\"}\"}]}", "[1, 2]", "\"x\\\"y\"", "42", "-1.5e3", "true",
        "null", "{}"}) {
      Frames.ServerFrame f = Frames.parse("{\"type\":\"message\",\"from\":\"alice\",\"data\":" + data + ",\"seq\":7}");
      assertEquals(data, f.data());
      assertEquals(7, f.seq());
      assertEquals("alice", f.from());
      assertNull(f.topic());
    }
  }

  @Test
  @DisplayName("read welcome fields, with resumed absent when the server does not resume")
  void welcome() {
    Frames.ServerFrame f = Frames.parse("{\"type\":\"welcome\",\"session\":\"s1\",\"connection\":\"c\",\"user\":\"u\","
        + "\"instance\":\"i\",\"heartbeat_ms\":25000,\"expires_at\":1767225600000}");
    assertEquals("s1", f.session());
    assertEquals(1767225600000L, f.expiresAt());
    assertNull(f.resumed());
    Frames.ServerFrame resumed = Frames.parse("{\"type\":\"welcome\",\"session\":\"s1\",\"resumed\":false,\"reason\":\"expired\"}");
    assertEquals(Boolean.FALSE, resumed.resumed());
    assertEquals("expired", resumed.reason());
    assertEquals(-1, resumed.expiresAt());
  }

  @Test
  @DisplayName("read topic offsets, subscribe acks with position and recovery, and gap frames")
  void topicsAndGaps() {
    Frames.ServerFrame m = Frames.parse("{\"type\":\"message\",\"from\":\"a\",\"topic\":\"room\",\"data\":[1],\"offset\":12}");
    assertEquals(12, m.offset());
    assertEquals(-1, m.seq());
    assertEquals("room", m.topic());
    Frames.ServerFrame plain = Frames.parse("{\"type\":\"message\",\"topic\":\"room\",\"data\":1}");
    assertEquals(-1, plain.offset());
    assertEquals(-1, plain.seq());

    Frames.ServerFrame ack = Frames.parse("{\"type\":\"ack\",\"id\":\"c2\",\"topic\":\"room\",\"offset\":7,"
        + "\"epoch\":\"k3x9\",\"recovered\":false,\"reason\":\"trimmed\"}");
    assertEquals("c2", ack.id());
    assertEquals(7, ack.offset());
    assertEquals("k3x9", ack.epoch());
    assertEquals(Boolean.FALSE, ack.recovered());
    assertEquals("trimmed", ack.reason());
    assertNull(Frames.parse("{\"type\":\"ack\",\"id\":\"c3\"}").recovered());

    Frames.ServerFrame sessionGap = Frames.parse("{\"type\":\"gap\",\"reason\":\"trimmed\",\"next_seq\":40}");
    assertEquals(40, sessionGap.nextSeq());
    assertNull(sessionGap.topic());
    Frames.ServerFrame topicGap = Frames.parse(
        "{\"type\":\"gap\",\"topic\":\"room\",\"reason\":\"history_reset\",\"epoch\":\"e2\",\"next_offset\":1}");
    assertEquals(1, topicGap.nextOffset());
    assertEquals("e2", topicGap.epoch());
    assertEquals("history_reset", topicGap.reason());
  }

  @Test
  @DisplayName("read numbers of the wrong shape as absent, and skip values of the wrong type without losing the fields after them")
  void wrongShapes() {
    Frames.ServerFrame f = Frames.parse("{\"type\":\"message\",\"offset\":-3,\"seq\":1.5,\"recovered\":{\"a\":[1]},"
        + "\"epoch\":7,\"next_seq\":99999999999999999999999,\"topic\":\"t\",\"data\":0}");
    assertEquals(-1, f.offset());
    assertEquals(-1, f.seq());
    assertNull(f.recovered());
    assertNull(f.epoch());
    assertEquals(-1, f.nextSeq());
    assertEquals("t", f.topic());
    assertEquals("0", f.data());
  }

  @Test
  @DisplayName("write operations with escaped strings and raw data")
  void operation() {
    assertEquals("{\"type\":\"send\",\"id\":\"c1\",\"to\":\"b\\\"ob\",\"data\":{\"x\":1}}",
        Frames.operation("send", "c1", "to", "b\"ob", "{\"x\":1}"));
    assertEquals("{\"type\":\"subscribe\",\"id\":\"c2\",\"topic\":\"room\"}",
        Frames.operation("subscribe", "c2", "topic", "room", null));
    assertEquals("{\"type\":\"subscribe\",\"id\":\"c3\",\"topic\":\"r\\\"m\"}", Frames.subscribe("c3", "r\"m", -1, null));
    assertEquals("{\"type\":\"subscribe\",\"id\":\"c4\",\"topic\":\"room\",\"since\":0,\"epoch\":\"k3x9\"}",
        Frames.subscribe("c4", "room", 0, "k3x9"));
  }

  @Test
  @DisplayName("refuse data that is not exactly one JSON value, and raw frames that are not one object with a type")
  void validation() {
    Frames.checkValue("{\"a\":1}");
    Frames.checkValue("\"s\"");
    assertThrows(IllegalArgumentException.class, () -> Frames.checkValue("1,\"to\":\"eve\""));
    assertThrows(IllegalArgumentException.class, () -> Frames.checkValue(""));
    assertThrows(IllegalArgumentException.class, () -> Frames.checkValue("{"));
    assertEquals(new Frames.RawFrame("custom", "7"), Frames.inspect("{\"type\":\"custom\",\"id\":7,\"x\":[1]}"));
    assertEquals(new Frames.RawFrame("custom", null), Frames.inspect("{\"type\":\"custom\"}"));
    assertThrows(IllegalArgumentException.class, () -> Frames.inspect("{\"id\":\"1\"}"));
    assertThrows(IllegalArgumentException.class, () -> Frames.inspect("{\"type\":\"a\"}{}"));
    assertThrows(IllegalArgumentException.class, () -> Frames.inspect("[]"));
  }

  @Test
  @DisplayName("read exp from a JWT and -1 from an opaque token")
  void jwt() {
    String payload = java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString("{\"sub\":\"a\",\"exp\":1767225600}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(1767225600000L, Jwt.expiresAtMillis("eyJhbGciOiJIUzI1NiJ9." + payload + ".sig"));
    assertEquals(-1, Jwt.expiresAtMillis("opaque-token"));
    assertEquals(-1, Jwt.expiresAtMillis("a.!!!.c"));
  }
}
