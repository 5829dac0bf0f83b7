package io.wsgateway.netty.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Fuzzing of the client frame parser, {@link Protocol#parse}: whatever the bytes, it returns a frame or
 * throws {@link Protocol.MalformedFrameException}, never anything else; and a frame it returns, written
 * out again, parses to the same frame ({@code data} byte for byte, and always one JSON value).
 *
 * <p>In every build: {@link #parse} replays its corpus (the seeds and every input that ever failed,
 * under {@code src/test/resources/.../ProtocolFuzzTestInputs/parse}) and {@link #mutatedFrames} tries
 * {@link FuzzInputs#iterations()} random mutations of valid frames. Coverage-guided, for as long as you
 * like: {@code gateway-netty/fuzz.sh parse} (Jazzer; see docs/security.md).
 */
@DisplayName("Fuzzing Protocol.parse")
class ProtocolFuzzTest {

  static final List<byte[]> SEEDS = List.of(
      FuzzInputs.bytes("{\"type\":\"send\",\"id\":\"1\",\"to\":\"bob\",\"data\":{\"text\":\"hi\",\"n\":[1,2.5,null]}}"),
      FuzzInputs.bytes("{\"type\":\"subscribe\",\"id\":2,\"topic\":\"room:lobby\"}"),
      FuzzInputs.bytes("{\"type\":\"unsubscribe\",\"topic\":\"room:é\"}"),
      FuzzInputs.bytes("{\"type\":\"publish\",\"topic\":\"t\",\"data\":\"a \\\"quoted\\\" \\u00e9 string\"}"),
      FuzzInputs.bytes("{\"type\":\"refresh\",\"id\":\"r\",\"token\":\"eyJhbGciOiJIUzI1NiJ9.e30.sig\"}"),
      FuzzInputs.bytes("{\"type\":\"custom.thing\",\"data\":-12.5e3,\"extra\":{\"nested\":[[[]]]}}"),
      FuzzInputs.bytes(" {\"data\":true , \"type\" : \"send\" } "),
      FuzzInputs.bytes("x"));

  @FuzzTest(maxDuration = "5m")
  void parse(byte[] input) {
    check(input);
  }

  @Test
  @DisplayName("random mutations of valid frames: only MalformedFrameException, and parsed frames round-trip")
  void mutatedFrames() {
    long seed = FuzzInputs.seed();
    Random random = new Random(seed);
    for (long i = 0, n = FuzzInputs.iterations(); i < n; i++) {
      byte[] input = FuzzInputs.next(random, SEEDS);
      try {
        check(input);
      } catch (Throwable t) {
        throw new AssertionError("input " + FuzzInputs.describe(input) + " (seed " + seed + ", iteration " + i + ")", t);
      }
    }
  }

  @Test
  @DisplayName("every seed is a valid frame")
  void seedsParse() throws Exception {
    for (byte[] seed : SEEDS.subList(0, SEEDS.size() - 1)) {
      assertNotNull(Protocol.parse(seed));
    }
  }

  // ---- regressions: inputs found by fuzzing or by reading the parser ----

  @Test
  @DisplayName("found: a frame that Jackson would read as UTF-16 or UTF-32 (NUL bytes up front) is malformed, not a crash")
  void wideEncodings() {
    for (byte[] input : List.of(
        utf16("{\"type\":\"send\",\"to\":\"b\",\"data\":{\"a\":1}}"),
        new byte[] {0, 0, 0, '{', 0, 0, 0, '}'},
        new byte[] {0, '{', 0, '}'})) {
      check(input);
      org.junit.jupiter.api.Assertions.assertThrows(Protocol.MalformedFrameException.class, () -> Protocol.parse(input),
          FuzzInputs.describe(input));
    }
  }

  private static byte[] utf16(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_16BE);
  }

  /** The property: see the class comment. */
  static void check(byte[] input) {
    ClientFrame frame;
    try {
      frame = Protocol.parse(input);
    } catch (Protocol.MalformedFrameException e) {
      assertNotNull(e.getMessage());
      assertTrue(e.id == null || e.id.length() <= 128, e.id);
      return;
    }
    assertTrue(frame.type() != null && !frame.type().isEmpty(), "a frame has a type");
    if (frame.data() != null) {
      assertTrue(Protocol.isJsonValue(frame.data()), () -> "data is one JSON value: " + FuzzInputs.describe(frame.data()));
    }
    ClientFrame again;
    byte[] written = write(frame);
    try {
      again = Protocol.parse(written);
    } catch (Protocol.MalformedFrameException e) {
      throw new AssertionError("a parsed frame, written out, does not parse: " + FuzzInputs.describe(written), e);
    }
    assertEquals(frame.type(), again.type());
    assertEquals(frame.id(), again.id());
    assertEquals(frame.to(), again.to());
    assertEquals(frame.topic(), again.topic());
    assertEquals(frame.token(), again.token());
    assertArrayEquals(frame.data(), again.data());
  }

  /** Writes a frame as a client would, every string ASCII-escaped, {@code data} copied raw. */
  static byte[] write(ClientFrame f) {
    List<String> members = new ArrayList<>();
    member(members, "type", f.type());
    member(members, "id", f.id());
    member(members, "to", f.to());
    member(members, "topic", f.topic());
    member(members, "token", f.token());
    String head = "{" + String.join(",", members);
    if (f.data() == null) {
      return FuzzInputs.bytes(head + "}");
    }
    byte[] prefix = FuzzInputs.bytes(head + ",\"data\":");
    byte[] out = new byte[prefix.length + f.data().length + 1];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    System.arraycopy(f.data(), 0, out, prefix.length, f.data().length);
    out[out.length - 1] = '}';
    return out;
  }

  private static void member(List<String> members, String name, String value) {
    if (value == null) {
      return;
    }
    StringBuilder b = new StringBuilder().append('"').append(name).append("\":\"");
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
        b.append(c);
      } else {
        b.append(String.format("\\u%04x", (int) c));
      }
    }
    members.add(b.append('"').toString());
  }
}
