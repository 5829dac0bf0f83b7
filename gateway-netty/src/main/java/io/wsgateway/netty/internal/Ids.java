package io.wsgateway.netty.internal;

import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/** Random identifiers: 128 bits, URL-safe base64, so they are unique across instances and restarts. */
final class Ids {

  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  private Ids() {}

  static String random() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    byte[] bytes = new byte[16];
    r.nextBytes(bytes);
    return ENCODER.encodeToString(bytes);
  }

  /** A short id for an instance: readable in logs, still unlikely to collide. */
  static String instance() {
    return "gw-" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
  }
}
