package io.wsgateway.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.client.internal.Sequencer.Verdict;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("TopicPositions")
class TopicPositionsTest {

  @Test
  @DisplayName("a subscribe ack sets the position; then offsets deliver in order, duplicates drop, a gap is reported without advancing")
  void inOrder() {
    TopicPositions t = new TopicPositions();
    t.add("room");
    assertEquals(-1, t.last("room"));
    assertNull(t.epoch("room"), "no position before the ack: a re-subscribe cannot ask to catch up");
    assertTrue(t.acked("room", 3, "e1", null));
    assertEquals(3, t.last("room"));
    assertEquals("e1", t.epoch("room"));
    assertEquals(Verdict.DELIVER, t.accept("room", 4));
    assertEquals(Verdict.DELIVER, t.accept("room", 5));
    assertEquals(Verdict.DUPLICATE, t.accept("room", 5));
    assertEquals(Verdict.DUPLICATE, t.accept("room", 1));
    assertEquals(Verdict.GAP, t.accept("room", 7));
    assertEquals(5, t.last("room"), "the catch-up asks from the last delivered offset");
    assertEquals(Verdict.DELIVER, t.accept("room", 6));
  }

  @Test
  @DisplayName("topics are numbered apart from each other")
  void perTopic() {
    TopicPositions t = new TopicPositions();
    t.add("a");
    t.add("b");
    t.acked("a", 0, "ea", null);
    t.acked("b", 10, "eb", null);
    assertEquals(Verdict.DELIVER, t.accept("a", 1));
    assertEquals(Verdict.DELIVER, t.accept("b", 11));
    assertEquals(Verdict.GAP, t.accept("a", 11));
    assertEquals(List.of("a", "b"), t.topics());
  }

  @Test
  @DisplayName("a catch-up ack keeps the position at since; a failed one (recovered:false) moves it to the ack's offset")
  void catchUpAcks() {
    TopicPositions t = new TopicPositions();
    t.add("room");
    t.acked("room", 0, "e1", null);
    t.accept("room", 1);
    t.accept("room", 2);
    assertTrue(t.acked("room", 2, "e1", Boolean.TRUE));
    assertEquals(2, t.last("room"));
    assertEquals(Verdict.DELIVER, t.accept("room", 3), "the missed publications follow the ack");
    assertTrue(t.acked("room", 9, "e1", Boolean.FALSE));
    assertEquals(9, t.last("room"));
    assertEquals(Verdict.DELIVER, t.accept("room", 10));
    assertTrue(t.acked("room", 4, "e2", Boolean.FALSE));
    assertEquals("e2", t.epoch("room"));
    assertEquals(Verdict.DELIVER, t.accept("room", 5));
  }

  @Test
  @DisplayName("the ack of a topic subscribed already keeps a known position of the same epoch, never skipping ahead")
  void repeatedSubscribe() {
    TopicPositions t = new TopicPositions();
    t.add("room");
    t.acked("room", 5, "e1", null);
    // The server wrote 6..8, which this client discarded before a reconnect: its position stays 5.
    assertTrue(t.acked("room", 8, "e1", null));
    assertEquals(5, t.last("room"));
    // Another epoch (the history was lost) is taken as it is.
    assertTrue(t.acked("room", 2, "e2", null));
    assertEquals(2, t.last("room"));
    assertEquals("e2", t.epoch("room"));
  }

  @Test
  @DisplayName("a gap frame moves the position forward or to a new epoch, and says whether anything was lost")
  void gaps() {
    TopicPositions t = new TopicPositions();
    t.add("room");
    t.acked("room", 0, "e1", null);
    t.accept("room", 1);
    assertTrue(t.skipTo("room", "e1", 5), "2..4 lost");
    assertEquals(4, t.last("room"));
    assertEquals(Verdict.DELIVER, t.accept("room", 5));
    assertFalse(t.skipTo("room", "e1", 6), "6 is the next one: nothing lost");
    assertFalse(t.skipTo("room", "e1", 2), "never backwards in one epoch");
    assertTrue(t.skipTo("room", "e2", 1), "the history was reset");
    assertEquals(0, t.last("room"));
    assertEquals("e2", t.epoch("room"));
    assertEquals(Verdict.DELIVER, t.accept("room", 1));
    assertFalse(t.skipTo("other", "e1", 3), "not subscribed");
  }

  @Test
  @DisplayName("topics not subscribed through the client are delivered as they come and not tracked; unsubscribe forgets the position")
  void untracked() {
    TopicPositions t = new TopicPositions();
    assertEquals(Verdict.DELIVER, t.accept("raw", 7));
    assertEquals(Verdict.DELIVER, t.accept("raw", 7));
    assertFalse(t.acked("raw", 3, "e", null));
    assertFalse(t.contains("raw"));
    t.add("room");
    t.acked("room", 3, "e", null);
    t.add("room");
    assertEquals(3, t.last("room"), "subscribing again keeps the position");
    t.remove("room");
    assertEquals(-1, t.last("room"));
    assertNull(t.epoch("room"));
    t.add("room");
    assertEquals(Verdict.DELIVER, t.accept("room", 9), "no position known yet: taken as it comes");
    assertEquals(Verdict.DELIVER, t.accept("room", 10));
    assertEquals(Verdict.DUPLICATE, t.accept("room", 9));
  }
}
