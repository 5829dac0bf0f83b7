package io.wsgateway.redis.internal;

import java.nio.charset.StandardCharsets;

/**
 * UTF-8 straight into a caller's array, so a key or log entry is one allocation rather than a
 * {@code getBytes} copy plus the array it is copied into. ASCII (ids, most user ids and topics) takes
 * the fast path; anything else is encoded by the JDK, unpaired surrogates included.
 */
final class Utf8 {

  private Utf8() {}

  /** The length of {@code s} in UTF-8. */
  static int length(String s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      if (s.charAt(i) >= 0x80) {
        return s.getBytes(StandardCharsets.UTF_8).length;
      }
    }
    return n;
  }

  /** Writes {@code s} as UTF-8 at {@code at}; returns the index after it. */
  static int encode(String s, byte[] out, int at) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(bytes, 0, out, at, bytes.length);
        return at + bytes.length;
      }
      out[at + i] = (byte) c;
    }
    return at + n;
  }
}
