package io.wsgateway.netty.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The token buckets by address, with time moved by hand. */
class HandshakeRateLimiterTest {

  private long now = TimeUnit.HOURS.toNanos(5);

  private HandshakeRateLimiter limiter(int handshakes, Duration period, int maxAddresses) {
    return new HandshakeRateLimiter(handshakes, period, maxAddresses, () -> now);
  }

  private static InetAddress ip(String literal) throws Exception {
    return InetAddress.getByName(literal);
  }

  @Test
  @DisplayName("allows a burst of the limit, then refuses until a token has dripped back, and says how long that is")
  void bucket() throws Exception {
    HandshakeRateLimiter limiter = limiter(3, Duration.ofSeconds(30), 100);
    InetAddress a = ip("192.0.2.1");
    for (int i = 0; i < 3; i++) {
      assertEquals(0, limiter.tryAcquire(a), "handshake " + i);
    }
    assertEquals(TimeUnit.SECONDS.toNanos(10), limiter.tryAcquire(a), "one token every 10 s");
    now += TimeUnit.SECONDS.toNanos(4);
    assertEquals(TimeUnit.SECONDS.toNanos(6), limiter.tryAcquire(a), "a refused attempt costs nothing more");
    now += TimeUnit.SECONDS.toNanos(6);
    assertEquals(0, limiter.tryAcquire(a));
    assertTrue(limiter.tryAcquire(a) > 0);
    now += TimeUnit.HOURS.toNanos(1);
    for (int i = 0; i < 3; i++) {
      assertEquals(0, limiter.tryAcquire(a), "refilled to the burst, not beyond: " + i);
    }
    assertTrue(limiter.tryAcquire(a) > 0);
  }

  @Test
  @DisplayName("keeps one bucket per address: one client's burst does not refuse another")
  void perAddress() throws Exception {
    HandshakeRateLimiter limiter = limiter(1, Duration.ofMinutes(1), 100);
    assertEquals(0, limiter.tryAcquire(ip("192.0.2.1")));
    assertTrue(limiter.tryAcquire(ip("192.0.2.1")) > 0);
    assertEquals(0, limiter.tryAcquire(ip("192.0.2.2")));
    assertEquals(0, limiter.tryAcquire(ip("::ffff:192.0.2.3")));
  }

  @Test
  @DisplayName("counts an IPv6 /64 as one address, since one subscriber usually holds a whole /64")
  void ipv6Prefix() throws Exception {
    HandshakeRateLimiter limiter = limiter(2, Duration.ofMinutes(1), 100);
    assertEquals(0, limiter.tryAcquire(ip("2001:db8:1:2::1")));
    assertEquals(0, limiter.tryAcquire(ip("2001:db8:1:2:ffff::9")));
    assertTrue(limiter.tryAcquire(ip("2001:db8:1:2:abcd::1")) > 0);
    assertEquals(0, limiter.tryAcquire(ip("2001:db8:1:3::1")), "another /64");
  }

  @Test
  @DisplayName("tracks at most maxAddresses, forgetting the least recently seen, so a spray of addresses cannot grow it")
  void bounded() throws Exception {
    HandshakeRateLimiter limiter = limiter(1, Duration.ofHours(1), 64);
    InetAddress first = ip("10.0.0.1");
    assertEquals(0, limiter.tryAcquire(first));
    assertTrue(limiter.tryAcquire(first) > 0);
    for (int i = 0; i < 100_000; i++) {
      limiter.tryAcquire(InetAddress.getByAddress(new byte[] {11, (byte) (i >> 16), (byte) (i >> 8), (byte) i}));
      assertTrue(limiter.trackedAddresses() <= 64, () -> "tracked " + limiter.trackedAddresses());
    }
    assertEquals(0, limiter.tryAcquire(first), "forgotten, so it starts with a full bucket again");
  }

  @Test
  @DisplayName("forgets a bucket that has refilled, which carries no information")
  void idleForgotten() throws Exception {
    HandshakeRateLimiter limiter = limiter(5, Duration.ofSeconds(10), 1_000);
    for (int i = 0; i < 100; i++) {
      limiter.tryAcquire(InetAddress.getByAddress(new byte[] {10, 0, 0, (byte) i}));
    }
    assertEquals(100, limiter.trackedAddresses());
    now += TimeUnit.SECONDS.toNanos(10);
    limiter.tryAcquire(ip("10.9.9.9"));
    assertEquals(1, limiter.trackedAddresses(), limiter::toString);
  }
}
