package io.wsgateway.chaos.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.wsgateway.chaos.history.StreamKind;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A payload")
class PayloadTest {

  @Test
  @DisplayName("reads back what it writes")
  void roundTrip() {
    Payload p = Payload.of(StreamKind.TOPIC, "u03", "chaos:1", 42);
    assertEquals("t.u03.chaos:1.42", p.id());
    assertEquals("{\"id\":\"t.u03.chaos:1.42\",\"k\":\"t\",\"src\":\"u03\",\"dst\":\"chaos:1\",\"n\":42}", p.json());
    assertEquals(p, Payload.parse(p.json()));
  }

  @Test
  @DisplayName("is null for data that is not a payload of the harness")
  void notOne() {
    assertNull(Payload.parse("{\"text\":\"hi\"}"));
    assertNull(Payload.parse("{\"id\":\"x\",\"k\":\"z\",\"n\":1}"));
    assertNull(Payload.parse("[1,2]"));
    assertNull(Payload.parse("not json"));
  }
}
