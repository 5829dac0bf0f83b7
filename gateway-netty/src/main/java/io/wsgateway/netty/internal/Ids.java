package io.wsgateway.netty.internal;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Identifiers: 128 bits as 22 characters of URL-safe base64, unique across instances and restarts.
 *
 * <p>Session and connection ids are secrets of their client (a session id is what a resume
 * presents), so they come from a CSPRNG: {@code ThreadLocalRandom} is predictable from a few of its
 * outputs, and two ids in one welcome would give away the next clients' ids. Message ids only need
 * to be unique (a client never presents one, and deduplication compares them only for messages the
 * gateway itself numbered), so they are a per-process random half and a counter: no CSPRNG call per
 * message.
 */
final class Ids {

  private static final byte[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom SECURE = new SecureRandom();
  /** The random half of this process's message ids. */
  private static final long PROCESS = SECURE.nextLong();
  private static final AtomicLong MESSAGES = new AtomicLong(SECURE.nextLong());

  private Ids() {}

  /** A session or connection id: 128 bits from the CSPRNG. */
  static String secret() {
    byte[] b = new byte[16];
    SECURE.nextBytes(b);
    long hi = 0;
    long lo = 0;
    for (int i = 0; i < 8; i++) {
      hi = hi << 8 | (b[i] & 0xff);
      lo = lo << 8 | (b[i + 8] & 0xff);
    }
    return encode(hi, lo);
  }

  /** A message id: unique, not secret. */
  static String message() {
    return encode(PROCESS, MESSAGES.incrementAndGet());
  }

  /** The 22 characters the URL-safe base64 of the 16 bytes {@code hi, lo} would be. */
  private static String encode(long hi, long lo) {
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
