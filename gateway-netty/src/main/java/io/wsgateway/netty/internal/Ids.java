package io.wsgateway.netty.internal;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/** Random identifiers: 128 bits, URL-safe base64, so they are unique across instances and restarts. */
final class Ids {

  private static final byte[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".getBytes(StandardCharsets.US_ASCII);

  private Ids() {}

  static String random() {
    // The 22 characters the URL-safe base64 of 16 random bytes would be, straight from two longs:
    // no byte array, no encoder (this runs twice per connection).
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = r.nextLong();
    long lo = r.nextLong();
    byte[] chars = new byte[22];
    for (int i = 0; i < 10; i++) {
      chars[i] = ALPHABET[(int) (hi >>> (58 - 6 * i)) & 63];
    }
    // Bits 3..0 of hi and 63..62 of lo make the 11th character.
    chars[10] = ALPHABET[(int) ((hi & 0xF) << 2 | lo >>> 62)];
    for (int i = 0; i < 10; i++) {
      chars[11 + i] = ALPHABET[(int) (lo >>> (56 - 6 * i)) & 63];
    }
    chars[21] = ALPHABET[(int) (lo & 0x3) << 4];
    return new String(chars, StandardCharsets.ISO_8859_1);
  }

  /** A short id for an instance: readable in logs, still unlikely to collide. */
  static String instance() {
    return "gw-" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
  }
}
