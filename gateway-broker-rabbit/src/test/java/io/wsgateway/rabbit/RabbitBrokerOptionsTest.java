package io.wsgateway.rabbit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RabbitBrokerOptionsTest {

  @Test
  @DisplayName("defaults are the documented constants")
  void defaults() {
    RabbitBrokerOptions o = RabbitBrokerOptions.defaults();
    assertEquals("amqp://guest:guest@127.0.0.1:5672", o.uri());
    assertEquals(List.of(), o.addresses());
    assertEquals("wsgateway", o.exchangePrefix());
    assertEquals(Duration.ofSeconds(60), o.inboxExpiry());
    assertEquals(256, o.batchMaxEnvelopes());
    assertEquals(64 * 1024, o.batchMaxBytes());
    assertEquals(Duration.ofMillis(1), o.batchLinger());
    assertEquals(256, o.prefetch());
    assertEquals(10_000, o.maxPendingPublishes());
    assertEquals(Duration.ofSeconds(5), o.publishTimeout());
    assertEquals(RabbitBrokerOptions.QueueType.CLASSIC, o.ingressQueueType());
    assertFalse(o.upstreamEnabled());
    assertEquals(64L * 1024 * 1024, o.maxPendingPublishBytes());
    assertEquals(1024 * 1024, o.ingressMaxMessageBytes());
    assertEquals(8, o.ingressPartitions());
    assertEquals(8, o.ingressMaxAttempts());
    assertEquals(Duration.ofMillis(100), o.ingressRetryDelay());
    assertEquals(10_000, o.deadLetterMaxMessages());
    assertEquals(64L * 1024 * 1024, o.deadLetterMaxBytes());
  }

  @Test
  @DisplayName("setters reject invalid values at once, naming the setting and what was expected")
  void validation() {
    RabbitBrokerOptions.Builder b = RabbitBrokerOptions.builder();
    assertEquals("prefetch: 0 (expected: > 0)", assertThrows(IllegalArgumentException.class, () -> b.prefetch(0)).getMessage());
    assertEquals("maxPendingPublishes: -1 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.maxPendingPublishes(-1)).getMessage());
    assertEquals("batchMaxEnvelopes: 0 (expected: 1..65536)",
        assertThrows(IllegalArgumentException.class, () -> b.batchMaxEnvelopes(0)).getMessage());
    assertEquals("batchMaxBytes: 0 (expected: > 0)", assertThrows(IllegalArgumentException.class, () -> b.batchMaxBytes(0)).getMessage());
    assertEquals("addresses: nohost (expected: host:port)",
        assertThrows(IllegalArgumentException.class, () -> b.addresses(List.of("nohost"))).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.uri("http://example.com"));
    assertThrows(IllegalArgumentException.class, () -> b.exchangePrefix(""));
    assertThrows(IllegalArgumentException.class, () -> b.exchangePrefix("amq.mine"));
    assertThrows(IllegalArgumentException.class, () -> b.publishTimeout(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> b.batchLinger(Duration.ofMillis(-1)));
    assertEquals("maxPendingPublishBytes: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.maxPendingPublishBytes(0)).getMessage());
    assertEquals("ingressMaxMessageBytes: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.ingressMaxMessageBytes(0)).getMessage());
    assertEquals("ingressPartitions: 1025 (expected: 1..1024)",
        assertThrows(IllegalArgumentException.class, () -> b.ingressPartitions(1025)).getMessage());
    assertEquals("ingressMaxAttempts: 0 (expected: 1..100)",
        assertThrows(IllegalArgumentException.class, () -> b.ingressMaxAttempts(0)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.ingressRetryDelay(Duration.ZERO));
    assertEquals("deadLetterMaxMessages: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.deadLetterMaxMessages(0)).getMessage());
    assertEquals("deadLetterMaxBytes: -1 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> b.deadLetterMaxBytes(-1)).getMessage());
    assertEquals("uri", assertThrows(NullPointerException.class, () -> b.uri(null)).getMessage());
  }

  @Test
  @DisplayName("toString prints every setting and masks the password; toBuilder copies everything")
  void toStringAndToBuilder() {
    RabbitBrokerOptions o = RabbitBrokerOptions.builder()
        .uri("amqps://app:s3cret@rabbit.example:5671/prod")
        .addresses(List.of("r1:5671", "r2:5671"))
        .exchangePrefix("chat")
        .ingressQueueType(RabbitBrokerOptions.QueueType.QUORUM)
        .upstreamEnabled(true)
        .prefetch(64)
        .build();
    String s = o.toString();
    assertFalse(s.contains("s3cret"), s);
    assertTrue(s.contains("uri=amqps://app:****@rabbit.example:5671/prod"), s);
    for (String field : List.of("addresses=[r1:5671, r2:5671]", "exchangePrefix=chat", "inboxExpiry=PT1M", "batchMaxEnvelopes=256",
        "batchMaxBytes=65536", "batchLinger=PT0.001S", "prefetch=64", "maxPendingPublishes=10000", "publishTimeout=PT5S",
        "ingressQueueType=QUORUM", "upstreamEnabled=true", "recoveryInterval=PT1S", "maxPendingPublishBytes=67108864",
        "ingressMaxMessageBytes=1048576", "ingressPartitions=8", "ingressMaxAttempts=8", "ingressRetryDelay=PT0.1S",
        "deadLetterMaxMessages=10000", "deadLetterMaxBytes=67108864")) {
      assertTrue(s.contains(field), field + " in " + s);
    }
    assertEquals(s, o.toBuilder().build().toString());
  }
}
