package io.wsgateway.broker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class EnvelopeCodecTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void assertSameEnvelope(Envelope expected, Envelope actual) {
    assertEquals(expected.id(), actual.id(), "id");
    assertEquals(expected.kind(), actual.kind(), "kind");
    assertEquals(expected.target(), actual.target(), "target");
    assertEquals(expected.from(), actual.from(), "from");
    assertEquals(expected.origin(), actual.origin(), "origin");
    assertArrayEquals(expected.data(), actual.data(), "data");
    assertEquals(expected.seq(), actual.seq(), "seq");
    assertEquals(expected.epoch(), actual.epoch(), "epoch");
  }

  @Nested
  @DisplayName("a round trip")
  class RoundTrip {

    @Test
    @DisplayName("keeps every field of every envelope, in order, with null from and origin")
    void keepsFields() {
      List<Envelope> batch = List.of(
          Envelope.toUser("1", "alice", null, utf8("{\"a\":1}"), null),
          Envelope.toTopic("2", "news/\u00e9", "bob", utf8("\"h\u00e9llo \ud83d\ude00\""), "gw-1"),
          Envelope.toUser("3", "carol", "dave", new byte[0], "gw-2"),
          Envelope.toTopic("4", "room", null, utf8("4"), "gw-1", 57, -3),
          Envelope.toSession("5", "s1", "gw-1/c1", Long.MAX_VALUE, 42, utf8("{\"type\":\"message\""), "gw-2"),
          Envelope.takeover("6", "s1", "gw-1/c1", "gw-2"));
      List<Envelope> decoded = EnvelopeCodec.decode(EnvelopeCodec.encode(batch));
      assertEquals(batch.size(), decoded.size());
      for (int i = 0; i < batch.size(); i++) {
        assertSameEnvelope(batch.get(i), decoded.get(i));
      }
    }

    @Test
    @DisplayName("carries a large payload intact")
    void largePayload() {
      byte[] data = new byte[1 << 20];
      Arrays.fill(data, (byte) 'x');
      Envelope big = Envelope.toUser("big", "u", null, data, null);
      assertArrayEquals(data, EnvelopeCodec.decode(EnvelopeCodec.encode(List.of(big))).get(0).data());
    }

    @Test
    @DisplayName("refuses to encode an empty batch")
    void emptyBatch() {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.encode(List.of()));
      assertEquals("batch: empty (expected: at least one envelope)", e.getMessage());
    }
  }

  @Nested
  @DisplayName("field limits")
  class FieldLimits {

    private final byte[] data = utf8("{}");

    @Test
    @DisplayName("a field of exactly 65,535 bytes of modified UTF-8 round-trips; one more byte is refused, naming the field")
    void limit() {
      String max = "a".repeat(EnvelopeCodec.MAX_FIELD_BYTES);
      Envelope fits = Envelope.toUser(max, max, max, data, max);
      assertSameEnvelope(fits, EnvelopeCodec.decode(EnvelopeCodec.encode(List.of(fits))).get(0));
      String over = max + "a";
      for (String field : List.of("id", "target", "from", "origin")) {
        Envelope e = Envelope.toUser(field.equals("id") ? over : "i", field.equals("target") ? over : "t",
            field.equals("from") ? over : null, data, field.equals("origin") ? over : null);
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.checkEncodable(e));
        assertEquals("envelope " + field + ": 65536 bytes (expected: at most 65535 bytes of modified UTF-8)",
            refused.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.encode(List.of(fits, e)), "encode refuses it too");
      }
    }

    @Test
    @DisplayName("counts modified UTF-8: NUL and U+0080..U+07FF take 2 bytes, other UTF-16 units 3, surrogate pairs 6")
    void modifiedUtf8() {
      assertEquals(2, EnvelopeCodec.modifiedUtf8Length("\0"));
      assertEquals(2, EnvelopeCodec.modifiedUtf8Length("\u00e9"));
      assertEquals(3, EnvelopeCodec.modifiedUtf8Length("\u0800"));
      assertEquals(6, EnvelopeCodec.modifiedUtf8Length("\ud83d\ude00"));
      // 21,846 characters of 3 bytes: 65,538 bytes, over the limit though far under 65,535 characters.
      Envelope wide = Envelope.toUser("\u20ac".repeat(21_846), "u", null, data, null);
      assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.checkEncodable(wide));
      Envelope narrow = Envelope.toUser("\u20ac".repeat(21_845), "u", "\0".repeat(100), data, null);
      assertSameEnvelope(narrow, EnvelopeCodec.decode(EnvelopeCodec.encode(List.of(narrow))).get(0));
    }
  }

  @Nested
  @DisplayName("decoding corrupt input")
  class Corrupt {

    private final byte[] valid = EnvelopeCodec.encode(List.of(
        Envelope.toUser("1", "alice", "bob", utf8("{\"a\":1}"), "gw-1"),
        Envelope.toTopic("2", "t", null, utf8("[1,2,3]"), null)));

    @Test
    @DisplayName("rejects an empty body")
    void empty() {
      assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.decode(new byte[0]));
    }

    @Test
    @DisplayName("rejects an unknown version")
    void unknownVersion() {
      byte[] body = valid.clone();
      body[0] = 99;
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.decode(body));
      assertEquals("envelope batch version: 99 (expected: 2)", e.getMessage());
    }

    @Test
    @DisplayName("rejects a count of zero, a negative count and one beyond MAX_BATCH")
    void badCount() {
      for (int count : new int[] {0, -1, EnvelopeCodec.MAX_BATCH + 1}) {
        byte[] body = valid.clone();
        body[1] = (byte) (count >>> 24);
        body[2] = (byte) (count >>> 16);
        body[3] = (byte) (count >>> 8);
        body[4] = (byte) count;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.decode(body));
        assertTrue(e.getMessage().startsWith("envelope batch count: " + count), e.getMessage());
      }
    }

    @Test
    @DisplayName("rejects an unknown envelope kind")
    void badKind() {
      byte[] body = valid.clone();
      body[5] = 9;
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.decode(body));
      assertEquals("envelope kind: 9", e.getMessage());
    }

    @Test
    @DisplayName("rejects every truncation of a valid batch")
    void truncated() {
      for (int length = 0; length < valid.length; length++) {
        byte[] body = Arrays.copyOf(valid, length);
        assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.decode(body), "truncated to " + length);
      }
    }

    @Test
    @DisplayName("rejects a string length beyond the body before allocating for it (found by fuzzing)")
    void stringLengthBeyondBody() {
      byte[] body = valid.clone();
      // The id's 16-bit length prefix follows version, count and kind.
      body[6] = (byte) 0xff;
      body[7] = (byte) 0xff;
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.decode(body));
      assertEquals("envelope string length: 65535 (expected: at most the " + (valid.length - 8) + " bytes that follow)",
          e.getMessage());
    }

    @Test
    @DisplayName("rejects trailing bytes after the last envelope")
    void trailingBytes() {
      byte[] body = Arrays.copyOf(valid, valid.length + 1);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.decode(body));
      assertEquals("envelope batch: 1 trailing bytes", e.getMessage());
    }

    @Test
    @DisplayName("rejects a count the body is too short to hold, before allocating for it")
    void countBeyondBody() {
      byte[] body = valid.clone();
      int count = EnvelopeCodec.MAX_BATCH;
      body[1] = (byte) (count >>> 24);
      body[2] = (byte) (count >>> 16);
      body[3] = (byte) (count >>> 8);
      body[4] = (byte) count;
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.decode(body));
      assertTrue(e.getMessage().startsWith("envelope batch count: 65536 (expected: at most "), e.getMessage());
    }

    @Test
    @DisplayName("rejects a payload length longer than the bytes that follow")
    void payloadLengthBeyondBody() {
      byte[] one = EnvelopeCodec.encode(List.of(Envelope.toUser("1", "a", null, utf8("{}"), null)));
      // The payload length is the 4 bytes before the 2-byte payload at the end.
      int at = one.length - 2 - 4;
      one[at] = 0x7f;
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EnvelopeCodec.decode(one));
      assertTrue(e.getMessage().startsWith("envelope payload length: "), e.getMessage());
    }
  }
}
