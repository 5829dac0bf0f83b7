package io.wsgateway.netty.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Server frames written by hand")
class ProtocolWireTest {

  private static final byte[] DATA = "{\"k\":[1,\"é\"]}".getBytes(StandardCharsets.UTF_8);

  @Test
  @DisplayName("a message prefix copies plain names and escapes the others")
  void messagePrefix() {
    assertEquals("{\"type\":\"message\",\"from\":\"alice\",\"data\":{\"k\":[1,\"é\"]},\"seq\":",
        utf8(Protocol.messagePrefix("alice", null, DATA)));
    assertEquals("{\"type\":\"message\",\"from\":\"a\",\"topic\":\"room:1\",\"data\":{\"k\":[1,\"é\"]},\"seq\":",
        utf8(Protocol.messagePrefix("a", "room:1", DATA)));
    assertEquals("{\"type\":\"message\",\"topic\":\"t\",\"data\":7,\"seq\":",
        utf8(Protocol.messagePrefix(null, "t", "7".getBytes(StandardCharsets.US_ASCII))));
    assertEquals("{\"type\":\"message\",\"from\":\"zoë \\\"q\\\\\\n\",\"data\":{\"k\":[1,\"é\"]},\"seq\":",
        utf8(Protocol.messagePrefix("zoë \"q\\\n", null, DATA)));
  }

  @Test
  @DisplayName("a subscription_revoked error names its topic in a field and in the message")
  void subscriptionRevoked() {
    assertEquals("{\"type\":\"error\",\"code\":\"subscription_revoked\",\"topic\":\"room:b\","
        + "\"message\":\"subscription to room:b revoked: not authorized\"}", Protocol.subscriptionRevoked("room:b"));
  }

  @Test
  @DisplayName("plain means copied as is: printable ASCII without quote or backslash")
  void plain() {
    assertTrue(Protocol.isPlain("user-1@example.com:~ {x}"));
    assertTrue(Protocol.isPlain(""));
    assertFalse(Protocol.isPlain("a\"b"));
    assertFalse(Protocol.isPlain("a\\b"));
    assertFalse(Protocol.isPlain("tab\t"));
    assertFalse(Protocol.isPlain("é"));
    assertFalse(Protocol.isPlain("\u007f"));
  }

  @Test
  @DisplayName("a wire ack is one unmasked final text frame, with a one-byte or two-byte length")
  void wireAck() {
    for (String id : new String[] {"m1", "x".repeat(103), "y".repeat(104), "z".repeat(128)}) {
      EmbeddedChannel ch = new EmbeddedChannel(new WebSocket08FrameDecoder(false, false, 65536));
      ByteBuf wire = Protocol.wireAck(UnpooledByteBufAllocator.DEFAULT, id);
      assertTrue(ch.writeInbound(wire));
      TextWebSocketFrame frame = ch.readInbound();
      try {
        assertTrue(frame.isFinalFragment());
        assertEquals("{\"type\":\"ack\",\"id\":\"" + id + "\"}", frame.text());
      } finally {
        frame.release();
      }
      assertFalse(ch.finish());
    }
  }

  @Test
  @DisplayName("a wire text frame carries any text, with each of the three length forms")
  void wireText() {
    for (String text : new String[] {"{\"type\":\"welcome\",\"user\":\"zoë\"}", "é".repeat(70), "a".repeat(70_000)}) {
      EmbeddedChannel ch = new EmbeddedChannel(new WebSocket08FrameDecoder(false, false, 1 << 20));
      assertTrue(ch.writeInbound(Protocol.wireText(UnpooledByteBufAllocator.DEFAULT, text)));
      TextWebSocketFrame frame = ch.readInbound();
      try {
        assertTrue(frame.isFinalFragment());
        assertEquals(text, frame.text());
      } finally {
        frame.release();
      }
      assertFalse(ch.finish());
    }
  }

  @Test
  @DisplayName("JSON strings: plain ones as they are, the others escaped")
  void appendString() {
    StringBuilder b = new StringBuilder();
    Protocol.appendString(b, "plain");
    Protocol.appendString(b, "q\"b\\n\nt\tc\u0001é");
    assertEquals("\"plain\"\"q\\\"b\\\\n\\nt\\tc\\u0001é\"", b.toString());
  }

  private static String utf8(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
