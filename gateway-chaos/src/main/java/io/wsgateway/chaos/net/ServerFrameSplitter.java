package io.wsgateway.chaos.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/**
 * Cuts the server-to-client byte stream of a proxied WebSocket into whole pieces: the HTTP response
 * head, then one buffer per WebSocket frame, so that the proxy forwards frames whole and can inject a
 * frame between two of them. Reports the text of the connection's first text frame (the gateway's
 * {@code welcome}). Anything that is not a {@code 101} upgrade is passed through as it comes. One
 * instance per connection; runs on its channel's event loop.
 */
final class ServerFrameSplitter extends ByteToMessageDecoder {

  /** A response head larger than this is not the gateway's: pass it through. */
  private static final int MAX_HEAD = 64 * 1024;
  /** A frame larger than this is not the gateway's (its messages are at most 64 KiB): pass it through. */
  private static final long MAX_FRAME = 16L * 1024 * 1024;
  private static final byte[] HEAD_END = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private enum Phase { HEAD, FRAMES, RAW }

  private final Consumer<String> firstText;
  private Phase phase = Phase.HEAD;
  private boolean sawText;

  ServerFrameSplitter(Consumer<String> firstText) {
    this.firstText = firstText;
  }

  /** Whether the upgrade went through and frames are being split: only then may a frame be injected. */
  boolean inFrames() {
    return phase == Phase.FRAMES;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    switch (phase) {
      case HEAD -> head(in, out);
      case FRAMES -> frame(in, out);
      case RAW -> out.add(in.readRetainedSlice(in.readableBytes()));
    }
  }

  private void head(ByteBuf in, List<Object> out) {
    int end = headEnd(in);
    if (end < 0) {
      if (in.readableBytes() > MAX_HEAD) {
        phase = Phase.RAW;
        out.add(in.readRetainedSlice(in.readableBytes()));
      }
      return;
    }
    int length = end + HEAD_END.length;
    String head = in.toString(in.readerIndex(), length, StandardCharsets.US_ASCII);
    out.add(in.readRetainedSlice(length));
    phase = head.startsWith("HTTP/1.1 101") ? Phase.FRAMES : Phase.RAW;
  }

  /** Offset from the reader index of the blank line ending the head, or -1. */
  private static int headEnd(ByteBuf in) {
    int r = in.readerIndex();
    for (int i = 0; i + HEAD_END.length <= in.readableBytes(); i++) {
      if (in.getByte(r + i) == '\r' && in.getByte(r + i + 1) == '\n' && in.getByte(r + i + 2) == '\r'
          && in.getByte(r + i + 3) == '\n') {
        return i;
      }
    }
    return -1;
  }

  private void frame(ByteBuf in, List<Object> out) {
    int r = in.readerIndex();
    if (in.readableBytes() < 2) {
      return;
    }
    int b0 = in.getUnsignedByte(r);
    int b1 = in.getUnsignedByte(r + 1);
    boolean masked = (b1 & 0x80) != 0;
    int len7 = b1 & 0x7F;
    int header = 2;
    long length;
    if (len7 == 126) {
      if (in.readableBytes() < 4) {
        return;
      }
      length = in.getUnsignedShort(r + 2);
      header = 4;
    } else if (len7 == 127) {
      if (in.readableBytes() < 10) {
        return;
      }
      length = in.getLong(r + 2);
      header = 10;
    } else {
      length = len7;
    }
    if (masked) {
      header += 4;
    }
    if (length < 0 || length > MAX_FRAME) {
      phase = Phase.RAW;
      out.add(in.readRetainedSlice(in.readableBytes()));
      return;
    }
    if (in.readableBytes() < header + length) {
      return;
    }
    boolean fin = (b0 & 0x80) != 0;
    int opcode = b0 & 0x0F;
    if (!sawText && opcode == 1 && fin && !masked) {
      sawText = true;
      firstText.accept(in.toString(r + header, (int) length, StandardCharsets.UTF_8));
    }
    out.add(in.readRetainedSlice(header + (int) length));
  }
}
