package io.wsgateway.chaos.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The server frame splitter")
class ServerFrameSplitterTest {

  static final String HEAD = "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n";

  static byte[] textFrame(String text) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0x81);
    if (payload.length < 126) {
      out.write(payload.length);
    } else {
      out.write(126);
      out.write(payload.length >> 8);
      out.write(payload.length & 0xFF);
    }
    out.writeBytes(payload);
    return out.toByteArray();
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** Feeds {@code bytes} in chunks of {@code chunk} and returns what came out, as strings. */
  static List<String> split(byte[] bytes, int chunk, List<String> firstText) {
    ServerFrameSplitter splitter = new ServerFrameSplitter(firstText::add);
    EmbeddedChannel ch = new EmbeddedChannel(splitter);
    for (int i = 0; i < bytes.length; i += chunk) {
      ch.writeInbound(Unpooled.wrappedBuffer(bytes, i, Math.min(chunk, bytes.length - i)));
    }
    List<String> pieces = new ArrayList<>();
    ByteBuf b;
    while ((b = ch.readInbound()) != null) {
      pieces.add(b.toString(StandardCharsets.ISO_8859_1));
      b.release();
    }
    assertFalse(ch.finishAndReleaseAll());
    return pieces;
  }

  @Test
  @DisplayName("passes the head and each frame whole, however the bytes are cut, and reports the welcome")
  void wholeFrames() {
    String welcome = "{\"type\":\"welcome\",\"session\":\"s1\",\"instance\":\"g2\"}";
    String big = "{\"type\":\"message\",\"data\":\"" + "x".repeat(300) + "\",\"seq\":1}";
    byte[] stream = concat(HEAD.getBytes(StandardCharsets.US_ASCII), textFrame(welcome), textFrame(big),
        textFrame("{\"type\":\"ack\",\"id\":\"c1\"}"));
    for (int chunk : new int[] {1, 3, 7, 64, 10_000}) {
      List<String> first = new ArrayList<>();
      List<String> pieces = split(stream, chunk, first);
      assertEquals(4, pieces.size(), "chunk " + chunk);
      assertEquals(HEAD, pieces.get(0));
      assertEquals(new String(textFrame(big), StandardCharsets.ISO_8859_1), pieces.get(2));
      assertEquals(List.of(welcome), first, "chunk " + chunk);
    }
  }

  @Test
  @DisplayName("passes a refused handshake through as it comes, without looking for frames")
  void refusal() {
    String refusal = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 36\r\n\r\n{\"error\":\"unavailable\",\"message\":\"x\"}";
    List<String> first = new ArrayList<>();
    List<String> pieces = split(refusal.getBytes(StandardCharsets.US_ASCII), 5, first);
    assertEquals(refusal, String.join("", pieces));
    assertTrue(first.isEmpty());
  }

  @Test
  @DisplayName("tells when a frame may be injected: only after the upgrade")
  void injectable() {
    ServerFrameSplitter splitter = new ServerFrameSplitter(t -> { });
    EmbeddedChannel ch = new EmbeddedChannel(splitter);
    assertFalse(splitter.inFrames());
    ch.writeInbound(Unpooled.wrappedBuffer(HEAD.getBytes(StandardCharsets.US_ASCII)));
    assertTrue(splitter.inFrames());
    ByteBuf head = ch.readInbound();
    head.release();
    assertNull(ch.readInbound());
    assertFalse(ch.finishAndReleaseAll());
  }
}
