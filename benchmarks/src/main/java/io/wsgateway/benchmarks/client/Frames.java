package io.wsgateway.benchmarks.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Cheap reading and writing of the few frame shapes the benchmarks use, without a JSON parser: the
 * load tool must cost less than the gateway it measures.
 */
public final class Frames {

  private Frames() {}

  public static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Whether {@code content} starts with {@code prefix} (e.g. {@code {"type":"message"}). */
  public static boolean startsWith(ByteBuf content, byte[] prefix) {
    if (content.readableBytes() < prefix.length) {
      return false;
    }
    int base = content.readerIndex();
    for (int i = 0; i < prefix.length; i++) {
      if (content.getByte(base + i) != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  /** Index of {@code needle} in {@code content}, or -1. */
  public static int indexOf(ByteBuf content, byte[] needle) {
    int end = content.writerIndex() - needle.length;
    outer:
    for (int i = content.readerIndex(); i <= end; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (content.getByte(i + j) != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** The non-negative decimal number right after {@code key} (e.g. {@code "t":}), or -1. */
  public static long longAfter(ByteBuf content, byte[] key) {
    int i = indexOf(content, key);
    if (i < 0) {
      return -1;
    }
    i += key.length;
    long v = 0;
    int digits = 0;
    for (int end = content.writerIndex(); i < end; i++, digits++) {
      byte b = content.getByte(i);
      if (b < '0' || b > '9') {
        break;
      }
      v = v * 10 + (b - '0');
    }
    return digits == 0 ? -1 : v;
  }

  /** Writes {@code head}, the decimal {@code a}, {@code middle}, the decimal {@code b}, {@code tail}. */
  public static ByteBuf build(ByteBufAllocator alloc, byte[] head, long a, byte[] middle, long b, byte[] tail) {
    ByteBuf buf = alloc.buffer(head.length + middle.length + tail.length + 40);
    buf.writeBytes(head);
    writeLong(buf, a);
    buf.writeBytes(middle);
    writeLong(buf, b);
    buf.writeBytes(tail);
    return buf;
  }

  /** Decimal digits of a non-negative long, without a String. */
  public static void writeLong(ByteBuf buf, long v) {
    if (v == 0) {
      buf.writeByte('0');
      return;
    }
    int start = buf.writerIndex();
    while (v > 0) {
      buf.writeByte((int) ('0' + v % 10));
      v /= 10;
    }
    // Reverse the digits in place.
    for (int i = start, j = buf.writerIndex() - 1; i < j; i++, j--) {
      byte t = buf.getByte(i);
      buf.setByte(i, buf.getByte(j));
      buf.setByte(j, t);
    }
  }

}
