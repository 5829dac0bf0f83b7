package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.RawWebSocket.HttpResult;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("The per-address handshake rate limit")
class HandshakeRateLimitTest {

  // Three handshakes an hour: the bucket cannot refill during the test, whatever the machine's speed.
  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(
      o -> o.handshakeRateLimitPerAddress(3, Duration.ofHours(1)), b -> b);

  private static HttpResult handshake(String query) throws Exception {
    try (RawWebSocket ws = RawWebSocket.open(gateway.port(), "/ws" + query, Map.of(), 0)) {
      return ws.handshake();
    }
  }

  @Test
  @DisplayName("counts every handshake from an address, refused or not, and beyond the limit answers 429 with Retry-After "
      + "before authenticating; other paths are not counted")
  void limit() throws Exception {
    assertEquals(200, RawWebSocket.get(gateway.port(), "/health", Map.of()).status());
    assertEquals(101, handshake("?access_token=" + gateway.token("alice")).status());
    assertEquals(401, handshake("").status(), "a refused handshake still costs a token");
    assertEquals(401, handshake("?access_token=garbage").status());
    HttpResult limited = handshake("?access_token=" + gateway.token("alice"));
    assertEquals(429, limited.status(), limited.body());
    assertEquals("{\"error\":\"handshake_rate_limited\",\"message\":"
        + "\"too many handshakes from this address (limit 3 per PT1H)\"}", limited.body());
    // One token comes back every 20 minutes; the client is asked to wait until then, in whole seconds.
    long retryAfter = Long.parseLong(limited.headers().get("retry-after"));
    assertTrue(retryAfter > 0 && retryAfter <= 1200, "Retry-After: " + retryAfter);
    assertEquals("close", limited.headers().get("connection"));
    assertEquals(200, RawWebSocket.get(gateway.port(), "/health", Map.of()).status());
  }

  @Test
  @DisplayName("is off by default, and its options are validated and printed")
  void options() {
    GatewayOptions defaults = GatewayOptions.defaults();
    assertEquals(0, defaults.handshakeRateLimitPerAddress());
    assertEquals(Duration.ofMinutes(1), defaults.handshakeRateLimitPeriod());
    assertEquals(65_536, defaults.handshakeRateLimitMaxAddresses());
    GatewayOptions.Builder b = GatewayOptions.builder();
    assertEquals("handshakeRateLimitPerAddress: -1 (expected: >= 0)", assertThrows(IllegalArgumentException.class,
        () -> b.handshakeRateLimitPerAddress(-1, Duration.ofSeconds(1))).getMessage());
    assertEquals("handshakeRateLimitPeriod: PT0S (expected: > 0)", assertThrows(IllegalArgumentException.class,
        () -> b.handshakeRateLimitPerAddress(5, Duration.ZERO)).getMessage());
    assertEquals("handshakeRateLimitMaxAddresses: 0 (expected: > 0)", assertThrows(IllegalArgumentException.class,
        () -> b.handshakeRateLimitMaxAddresses(0)).getMessage());
    String printed = b.handshakeRateLimitPerAddress(20, Duration.ofSeconds(10)).handshakeRateLimitMaxAddresses(99)
        .build().toBuilder().build().toString();
    assertTrue(printed.contains("handshakeRateLimitPerAddress=20, handshakeRateLimitPeriod=PT10S, "
        + "handshakeRateLimitMaxAddresses=99"), printed);
  }
}
