package io.wsgateway.chaos.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.chaos.history.Event;
import io.wsgateway.chaos.history.Outcome;
import io.wsgateway.chaos.history.StreamKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

@DisplayName("The checker")
class CheckerTest {

  /** Builds a synthetic history; times are in milliseconds since the run start. */
  static final class H {
    final List<Event> events = new ArrayList<>();
    int seq;

    static long ms(long millis) {
      return millis * 1_000_000L;
    }

    H connected(long at, String user, String session, boolean resumed) {
      events.add(new Event.Connected(ms(at), user, session, resumed, "g1"));
      return this;
    }

    H disconnected(long at, String user) {
      events.add(new Event.Disconnected(ms(at), user, "connection_lost"));
      return this;
    }

    H resumeFailed(long at, String user, String lostSession) {
      events.add(new Event.LossSignal(ms(at), user, "resume_failed", "unknown_session", lostSession, true));
      return this;
    }

    H subscribed(long at, String user, String topic) {
      events.add(new Event.Subscribed(ms(at), user, topic));
      return this;
    }

    H send(long at, StreamKind kind, String from, String to, long n, Outcome outcome, long completedAt) {
      String id = id(kind, from, to, n);
      events.add(new Event.Invoke(ms(at), id, kind, from, to, n, "g1"));
      events.add(new Event.Complete(ms(completedAt), id, outcome, outcome == Outcome.ACKED ? null : "connection_lost"));
      return this;
    }

    H direct(long at, String from, String to, long n) {
      return send(at, StreamKind.DIRECT, from, to, n, Outcome.ACKED, at + 5);
    }

    H deliver(long at, String user, String session, StreamKind kind, String from, String to, long n) {
      events.add(new Event.Deliver(ms(at), user, session, ++seq, id(kind, from, to, n), kind, from, to, n, "g2", null));
      return this;
    }

    H deliverDirect(long at, String user, String from, long n) {
      return deliver(at, user, "s1", StreamKind.DIRECT, from, user, n);
    }

    static String id(StreamKind kind, String from, String to, long n) {
      return kind.code() + "." + from + "." + to + "." + n;
    }

    CheckReport check() {
      return new Checker(Duration.ofSeconds(30)).check(events);
    }
  }

  static H twoUsers() {
    return new H().connected(0, "alice", "a1", false).connected(0, "bob", "s1", false);
  }

  @Test
  @DisplayName("passes a history where every acked message arrived once and in order")
  void clean() {
    CheckReport r = twoUsers().direct(100, "alice", "bob", 1).direct(200, "alice", "bob", 2)
        .deliverDirect(150, "bob", "alice", 1).deliverDirect(250, "bob", "alice", 2).check();
    assertTrue(r.ok(), r.render(5));
    StreamStats s = r.stats(StreamKind.DIRECT);
    assertEquals(2, s.invoked());
    assertEquals(2, s.acked());
    assertEquals(2, s.due());
    assertEquals(2, s.delivered());
    assertEquals(H.ms(50), s.worstDelay());
  }

  @Test
  @DisplayName("catches an acknowledged message that never arrived")
  void lost() {
    CheckReport r = twoUsers().direct(100, "alice", "bob", 1).direct(200, "alice", "bob", 2)
        .deliverDirect(250, "bob", "alice", 2).check();
    assertFalse(r.ok());
    assertEquals(1, r.total().lost());
    Violation v = r.violations(Violation.Type.LOST).get(0);
    assertEquals("d.alice.bob.1", v.id());
    assertEquals("bob", v.user());
    assertTrue(r.render(5).contains("LOST: 1"), r.render(5));
  }

  @Test
  @DisplayName("catches a message delivered twice, also across sessions")
  void duplicate() {
    CheckReport r = twoUsers().direct(100, "alice", "bob", 1)
        .deliverDirect(150, "bob", "alice", 1)
        .deliver(300, "bob", "s2", StreamKind.DIRECT, "alice", "bob", 1).check();
    assertEquals(1, r.total().duplicates());
    assertEquals(0, r.total().lost());
    assertEquals(Violation.Type.DUPLICATE, r.violations().get(0).type());
  }

  @Test
  @DisplayName("catches a message that overtook an earlier one of the same sender")
  void reorder() {
    CheckReport r = twoUsers().direct(100, "alice", "bob", 1).direct(101, "alice", "bob", 2)
        .direct(102, "alice", "bob", 3)
        .deliverDirect(150, "bob", "alice", 2).deliverDirect(151, "bob", "alice", 1)
        .deliverDirect(152, "bob", "alice", 3).check();
    assertEquals(1, r.total().reordered());
    assertEquals("d.alice.bob.1", r.violations(Violation.Type.REORDERED).get(0).id());
  }

  @Test
  @DisplayName("keeps order per stream: two senders may interleave")
  void orderPerStream() {
    CheckReport r = new H().connected(0, "alice", "a1", false).connected(0, "carol", "c1", false)
        .connected(0, "bob", "s1", false)
        .direct(100, "alice", "bob", 1).direct(100, "carol", "bob", 1).direct(101, "carol", "bob", 2)
        .deliverDirect(150, "bob", "carol", 2).deliverDirect(151, "bob", "alice", 1)
        .deliverDirect(152, "bob", "carol", 1).check();
    assertEquals(1, r.total().reordered());
    assertEquals("d.carol.bob.1", r.violations().get(0).id());
  }

  @Test
  @DisplayName("checks backend ingress order per recipient")
  void ingressOrder() {
    CheckReport r = new H().connected(0, "bob", "s1", false)
        .send(100, StreamKind.INGRESS, "backend", "bob", 1, Outcome.ACKED, 110)
        .send(120, StreamKind.INGRESS, "backend", "bob", 2, Outcome.ACKED, 130)
        .deliver(200, "bob", "s1", StreamKind.INGRESS, "backend", "bob", 2)
        .deliver(201, "bob", "s1", StreamKind.INGRESS, "backend", "bob", 1).check();
    assertEquals(1, r.stats(StreamKind.INGRESS).reordered());
    assertEquals(0, r.stats(StreamKind.DIRECT).reordered());
  }

  @Nested
  @DisplayName("with loss signals")
  class Signals {

    @Test
    @DisplayName("does not flag a message lost with a session the client was told it lost")
    void excusedByResumeFailed() {
      CheckReport r = twoUsers().direct(10_000, "alice", "bob", 1)
          .disconnected(11_000, "bob").connected(12_000, "bob", "s2", false).resumeFailed(12_000, "bob", "s1")
          .check();
      assertTrue(r.ok(), r.render(5));
      assertEquals(1, r.total().lostSignalled());
      assertEquals(0, r.total().lost());
      assertEquals(List.of("d.alice.bob.1 (direct alice->bob n=1) invoked at 10.000s via g1, acked at 10.005s; not "
          + "delivered to bob, excused by resume_failed (unknown_session) at 12.000s after 1.000s connected since the "
          + "invocation (lost session s1)"), r.excused());
    }

    @Test
    @DisplayName("flags a message that should have arrived long before the session was lost")
    void notExcusedAfterTheHorizon() {
      CheckReport r = twoUsers().direct(10_000, "alice", "bob", 1)
          .disconnected(100_000, "bob").connected(101_000, "bob", "s2", false).resumeFailed(101_000, "bob", "s1")
          .check();
      assertEquals(1, r.total().lost(), r.render(5));
      assertEquals(0, r.total().lostSignalled());
    }

    @Test
    @DisplayName("does not let a later session's loss excuse a message the client had time to receive before")
    void laterSessionDoesNotExcuse() {
      // Sent at 10 s; bob stays connected in s1 until 80 s without it, then loses s1, then s2 (19 s old).
      CheckReport r = twoUsers().direct(10_000, "alice", "bob", 1)
          .disconnected(80_000, "bob").connected(81_000, "bob", "s2", false).resumeFailed(81_000, "bob", "s1")
          .disconnected(100_000, "bob").connected(101_000, "bob", "s3", false).resumeFailed(101_000, "bob", "s2")
          .check();
      assertEquals(1, r.total().lost(), r.render(5));
      assertEquals(0, r.total().lostSignalled());
    }

    @Test
    @DisplayName("counts only connected time towards the horizon")
    void disconnectedTimeDoesNotCount() {
      // Invoked at 10 s; bob is cut from 11 s to 95 s, reconnects and resumes nothing: 1 s + 4 s connected.
      CheckReport r = twoUsers().direct(10_000, "alice", "bob", 1)
          .disconnected(11_000, "bob").connected(95_000, "bob", "s1", true).disconnected(99_000, "bob")
          .connected(100_000, "bob", "s2", false).resumeFailed(100_000, "bob", "s1").check();
      assertTrue(r.ok(), r.render(5));
      assertEquals(1, r.total().lostSignalled());
    }

    @Test
    @DisplayName("does not let a signal excuse a message sent after it")
    void signalBeforeTheMessage() {
      CheckReport r = twoUsers().disconnected(1_000, "bob").connected(2_000, "bob", "s2", false)
          .resumeFailed(2_000, "bob", "s1").direct(10_000, "alice", "bob", 1).check();
      assertEquals(1, r.total().lost());
    }

    @Test
    @DisplayName("does not let another user's signal excuse a message")
    void otherUsersSignal() {
      CheckReport r = twoUsers().direct(10_000, "alice", "bob", 1)
          .disconnected(11_000, "alice").connected(12_000, "alice", "a2", false).resumeFailed(12_000, "alice", "a1")
          .check();
      assertEquals(1, r.total().lost());
    }
  }

  @Nested
  @DisplayName("with unacknowledged messages")
  class Unacked {

    @Test
    @DisplayName("allows, and counts, what was neither acknowledged nor delivered")
    void unackedUndelivered() {
      CheckReport r = twoUsers()
          .send(100, StreamKind.DIRECT, "alice", "bob", 1, Outcome.UNKNOWN, 200)
          .send(300, StreamKind.DIRECT, "alice", "bob", 2, Outcome.FAILED, 310)
          .send(400, StreamKind.DIRECT, "alice", "bob", 3, Outcome.UNKNOWN, 500)
          .deliverDirect(450, "bob", "alice", 3).check();
      assertTrue(r.ok(), r.render(5));
      assertEquals(2, r.total().unackedUndelivered());
      assertEquals(1, r.total().unackedDelivered());
      assertEquals(2, r.total().unknown());
      assertEquals(1, r.total().failed());
    }

    @Test
    @DisplayName("treats an operation that never completed as unknown")
    void neverCompleted() {
      H h = twoUsers();
      h.events.add(new Event.Invoke(H.ms(100), "d.alice.bob.1", StreamKind.DIRECT, "alice", "bob", 1, null));
      CheckReport r = h.check();
      assertTrue(r.ok());
      assertEquals(1, r.total().unknown());
      assertEquals(1, r.total().unackedUndelivered());
    }
  }

  @Nested
  @DisplayName("with topics")
  class Topics {

    @Test
    @DisplayName("expects a publish at every subscriber whose subscribe was acked before it")
    void dueToSubscribers() {
      CheckReport r = new H().connected(0, "pub", "p1", false).connected(0, "bob", "s1", false)
          .connected(0, "carol", "c1", false).subscribed(50, "bob", "room").subscribed(150, "carol", "room")
          .send(100, StreamKind.TOPIC, "pub", "room", 1, Outcome.ACKED, 110)
          .send(200, StreamKind.TOPIC, "pub", "room", 2, Outcome.ACKED, 210)
          .deliver(120, "bob", "s1", StreamKind.TOPIC, "pub", "room", 1)
          .deliver(220, "carol", "c1", StreamKind.TOPIC, "pub", "room", 2).check();
      assertEquals(3, r.stats(StreamKind.TOPIC).due());
      assertEquals(1, r.stats(StreamKind.TOPIC).lost(), r.render(5));
      Violation v = r.violations(Violation.Type.LOST).get(0);
      assertEquals("bob", v.user());
      assertEquals("t.pub.room.2", v.id());
    }

    @Test
    @DisplayName("does not expect a publish between a session reset and the re-subscribe")
    void notDueWhileResubscribing() {
      CheckReport r = new H().connected(0, "pub", "p1", false).connected(0, "bob", "s1", false)
          .subscribed(50, "bob", "room")
          .disconnected(1_000, "bob").connected(1_100, "bob", "s2", false).resumeFailed(1_100, "bob", "s1")
          .send(1_150, StreamKind.TOPIC, "pub", "room", 1, Outcome.ACKED, 1_160)
          .subscribed(1_200, "bob", "room")
          .send(1_300, StreamKind.TOPIC, "pub", "room", 2, Outcome.ACKED, 1_310)
          .deliver(1_320, "bob", "s2", StreamKind.TOPIC, "pub", "room", 2).check();
      assertTrue(r.ok(), r.render(5));
      assertEquals(1, r.stats(StreamKind.TOPIC).due());
    }

    @Test
    @DisplayName("flags a topic message at a user that never subscribed")
    void misdelivered() {
      CheckReport r = new H().connected(0, "pub", "p1", false).connected(0, "bob", "s1", false)
          .send(100, StreamKind.TOPIC, "pub", "room", 1, Outcome.ACKED, 110)
          .deliver(120, "bob", "s1", StreamKind.TOPIC, "pub", "room", 1).check();
      assertEquals(1, r.total().misdelivered());
    }
  }

  @Test
  @DisplayName("flags a direct message delivered to someone else, and a payload of no known message")
  void misdeliveredDirect() {
    H h = twoUsers().direct(100, "alice", "bob", 1).deliverDirect(150, "bob", "alice", 1)
        .deliver(160, "alice", "a1", StreamKind.DIRECT, "alice", "bob", 1);
    h.events.add(new Event.Deliver(H.ms(170), "bob", "s1", 99, null, null, null, null, 0, "g1", "{\"x\":1}"));
    CheckReport r = h.check();
    assertEquals(2, r.total().misdelivered(), r.render(5));
  }

  @Test
  @DisplayName("counts what the quiet period still waits for")
  void outstanding() {
    H h = twoUsers().direct(100, "alice", "bob", 1).direct(200, "alice", "bob", 2)
        .send(300, StreamKind.DIRECT, "alice", "bob", 3, Outcome.UNKNOWN, 400)
        .deliverDirect(150, "bob", "alice", 1);
    assertEquals(1, new Checker().outstanding(h.events));
    h.deliverDirect(250, "bob", "alice", 2);
    assertEquals(0, new Checker().outstanding(h.events));
  }

  @Test
  @DisplayName("shows the faults and connections around a violation")
  void renderShowsContext() {
    H h = twoUsers().direct(10_000, "alice", "bob", 1);
    h.events.add(new Event.FaultStarted(H.ms(9_000), 3, "KILL_RESTART", "slot 2 (g2-x)", "down 1.5s"));
    h.events.add(new Event.FaultEnded(H.ms(14_000), 3, "KILL_RESTART", "slot 2 (g2-x)", "ready", true));
    h.events.add(new Event.FaultStarted(H.ms(60_000), 4, "REDIS_PAUSE", "redis", "3s"));
    h.events.add(new Event.FaultEnded(H.ms(63_000), 4, "REDIS_PAUSE", "redis", "", true));
    h.disconnected(10_500, "bob").connected(11_000, "bob", "s1", true);
    String text = h.check().render(5);
    assertTrue(text.contains("fault #3 KILL_RESTART slot 2 (g2-x) 9.000s..14.000s"), text);
    assertFalse(text.contains("fault #4"), text);
    assertTrue(text.contains("bob 10.500s disconnected"), text);
    assertTrue(text.contains("bob 11.000s connected on g1 session s1 (resumed)"), text);
  }

  @Test
  @DisplayName("rejects a horizon that is not positive")
  void horizon() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Checker(Duration.ZERO));
    assertEquals("horizon: PT0S (expected: > 0)", e.getMessage());
  }
}
