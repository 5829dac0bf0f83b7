package io.wsgateway.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.client.internal.Sequencer.Verdict;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Sequencer")
class SequencerTest {

  @Test
  @DisplayName("delivers 1, 2, 3 in order and remembers the last delivered seq")
  void inOrder() {
    Sequencer s = new Sequencer();
    assertEquals(0, s.lastSeq());
    for (long seq = 1; seq <= 3; seq++) {
      assertEquals(Verdict.DELIVER, s.accept(seq));
      assertEquals(seq, s.lastSeq());
    }
  }

  @Test
  @DisplayName("drops duplicates, e.g. a replay overlapping what was already delivered")
  void duplicates() {
    Sequencer s = new Sequencer();
    s.accept(1);
    s.accept(2);
    assertEquals(Verdict.DUPLICATE, s.accept(2));
    assertEquals(Verdict.DUPLICATE, s.accept(1));
    assertEquals(2, s.lastSeq());
    assertEquals(Verdict.DELIVER, s.accept(3));
  }

  @Test
  @DisplayName("reports a gap without advancing, so a resume asks for everything after the last delivered seq")
  void gap() {
    Sequencer s = new Sequencer();
    s.accept(1);
    assertEquals(Verdict.GAP, s.accept(3));
    assertEquals(1, s.lastSeq(), "resume point stays at the last delivered message");
    assertEquals(Verdict.GAP, s.accept(4));
    // The replay after resume fills the gap, and the rest follows in order.
    assertEquals(Verdict.DELIVER, s.accept(2));
    assertEquals(Verdict.DELIVER, s.accept(3));
    assertEquals(Verdict.DELIVER, s.accept(4));
  }

  @Test
  @DisplayName("skips to the next seq a gap frame names, and only forward")
  void skipTo() {
    Sequencer s = new Sequencer();
    s.accept(1);
    assertTrue(s.skipTo(5), "messages 2..4 are lost");
    assertEquals(4, s.lastSeq());
    assertEquals(Verdict.DELIVER, s.accept(5));
    assertFalse(s.skipTo(6), "nothing lost: 6 is the next one");
    assertFalse(s.skipTo(3), "never backwards");
    assertEquals(5, s.lastSeq());
    assertEquals(Verdict.DUPLICATE, s.accept(4));
  }

  @Test
  @DisplayName("starts again at 1 after a reset (a new session)")
  void reset() {
    Sequencer s = new Sequencer();
    s.accept(1);
    s.accept(2);
    s.reset();
    assertEquals(0, s.lastSeq());
    assertEquals(Verdict.DELIVER, s.accept(1));
  }
}
