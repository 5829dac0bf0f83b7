package io.wsgateway.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.chaos.faults.FaultKind;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Chaos options")
class ChaosOptionsTest {

  @Test
  @DisplayName("default to the CI schedule and survive a round trip through toBuilder")
  void defaults() {
    ChaosOptions o = ChaosOptions.builder().seed(7).build();
    assertEquals(ChaosOptions.DEFAULT_DURATION, o.duration());
    assertEquals(ChaosOptions.DEFAULT_CLIENTS, o.clients());
    assertEquals(EnumSet.allOf(FaultKind.class), o.faultKinds());
    assertEquals(o.toString(), o.toBuilder().build().toString());
  }

  @Test
  @DisplayName("print every field, the RabbitMQ password masked")
  void printsEveryField() {
    String s = ChaosOptions.builder().seed(7).rabbitUri("amqp://guest:secret@host:5672").build().toString();
    for (String field : new String[] {"seed=7", "duration=", "clients=", "faultStart=", "faultStopBefore=",
        "meanFaultGap=", "faultKinds=", "directInterval=", "directBurst=", "peersPerClient=", "topics=",
        "subscribersPerTopic=", "publishersPerTopic=", "topicInterval=", "topicBurst=", "ingressInterval=",
        "ingressBurst=", "horizon=", "quietIdle=", "quietMax=", "gatewayJar=", "outDir=", "rabbitUri=",
        "redisServer=", "haproxy=", "rabbitmqctl="}) {
      assertTrue(s.contains(field), field + " missing from " + s);
    }
    assertTrue(s.contains("amqp://guest:****@host:5672"), s);
  }

  @Test
  @DisplayName("reject bad values at once, naming the field and what was expected")
  void validates() {
    ChaosOptions.Builder b = ChaosOptions.builder();
    assertEquals("clients: 3 (expected: 4..200)",
        assertThrows(IllegalArgumentException.class, () -> b.clients(3)).getMessage());
    assertEquals("duration: PT10S (expected: PT30S..PT24H)",
        assertThrows(IllegalArgumentException.class, () -> b.duration(Duration.ofSeconds(10))).getMessage());
    assertEquals("faultKinds: [] (expected: at least one)",
        assertThrows(IllegalArgumentException.class, () -> b.faultKinds(Set.of())).getMessage());
    assertEquals("rabbitUri: blank (expected: non-empty)",
        assertThrows(IllegalArgumentException.class, () -> b.rabbitUri(" ")).getMessage());
    assertEquals("seed: not set (expected: seed(long))",
        assertThrows(IllegalStateException.class, () -> ChaosOptions.builder().build()).getMessage());
    assertEquals("duration - faultStart - faultStopBefore: PT5S (expected: >= 10 s, the fault window)",
        assertThrows(IllegalStateException.class, () -> ChaosOptions.builder().seed(1)
            .duration(Duration.ofSeconds(30)).faultStart(Duration.ofSeconds(15)).build()).getMessage());
  }

  @Test
  @DisplayName("give the same schedule and workload for the same seed")
  void replay() {
    ChaosOptions a = ChaosOptions.builder().seed(99).build();
    ChaosOptions b = ChaosOptions.builder().seed(99).build();
    assertEquals(ChaosRun.plan(a).render(), ChaosRun.plan(b).render());
    assertEquals(ChaosRun.workload(a).render(), ChaosRun.workload(b).render());
  }
}
