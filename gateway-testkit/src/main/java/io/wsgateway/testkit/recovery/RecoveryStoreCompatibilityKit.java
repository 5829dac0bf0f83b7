package io.wsgateway.testkit.recovery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.SessionAppend;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.StoredMessage;
import io.wsgateway.recovery.TopicAppend;
import io.wsgateway.recovery.TopicBacklog;
import io.wsgateway.recovery.TopicPosition;
import io.wsgateway.recovery.UserAppend;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The compatibility kit of the {@link RecoveryStore} SPI: every recovery store, ours and third
 * parties', extends it and passes it.
 *
 * <p>Subclasses provide {@link #newStore(Limits)}, mapping the kit's {@link Limits} onto their own
 * options. Expiry rules let time pass through {@link #elapse(RecoveryStore, Duration)}: a store that
 * reads an injected clock moves it (instant and exact); the default waits in real time, so a store
 * with real-time expiry (Redis TTLs) overrides {@link #window()} and {@link #topicHistoryTtl()} with
 * short ones instead. The rules about a store that lost its data run only where {@link
 * #loseEverything(RecoveryStore)} is implemented.
 *
 * <pre>{@code
 * class MyStoreTest extends RecoveryStoreCompatibilityKit {
 *   @Override protected RecoveryStore newStore(Limits limits) {
 *     return MyStore.create(freshKeyspace(), limits.window(), limits.maxMessages(), ...);
 *   }
 *   @Override protected Duration window() { return Duration.ofSeconds(1); }
 * }
 * }</pre>
 *
 * <p>Each rule uses fresh stores that the kit closes after the rule. The kit runs on JUnit's test
 * thread and blocks only it, waiting for the store's stages within {@link #callTimeout()}.
 */
public abstract class RecoveryStoreCompatibilityKit {

  /**
   * The limits a rule configures.
   *
   * @param window how long a detached session can be resumed
   * @param maxMessages messages kept per session
   * @param maxBytes frame bytes kept per session
   * @param maxSessionsPerUser sessions per user before the oldest detached one is evicted
   * @param topicMaxMessages publications kept per topic
   * @param topicHistoryTtl how long a topic's history outlives its latest publication
   */
  public record Limits(Duration window, int maxMessages, long maxBytes, int maxSessionsPerUser,
      int topicMaxMessages, Duration topicHistoryTtl) {

    Limits withMaxMessages(int n) {
      return new Limits(window, n, maxBytes, maxSessionsPerUser, topicMaxMessages, topicHistoryTtl);
    }

    Limits withMaxBytes(long n) {
      return new Limits(window, maxMessages, n, maxSessionsPerUser, topicMaxMessages, topicHistoryTtl);
    }

    Limits withMaxSessionsPerUser(int n) {
      return new Limits(window, maxMessages, maxBytes, n, topicMaxMessages, topicHistoryTtl);
    }

    Limits withTopicMaxMessages(int n) {
      return new Limits(window, maxMessages, maxBytes, maxSessionsPerUser, n, topicHistoryTtl);
    }
  }

  private final List<RecoveryStore> opened = new ArrayList<>();

  /** The store under test: new and empty, with {@code limits}. */
  protected abstract RecoveryStore newStore(Limits limits);

  /**
   * The recovery window the kit configures. Default 120 s, fine for a store whose time {@link
   * #elapse} moves; a store that expires in real time returns a short one (about a second): the
   * expiry rules wait about twice this long.
   */
  protected Duration window() {
    return Duration.ofSeconds(120);
  }

  /** The topic history lifetime the kit configures; as {@link #window()}. */
  protected Duration topicHistoryTtl() {
    return Duration.ofSeconds(120);
  }

  /**
   * Lets {@code duration} pass for {@code store}. A store reading an injected clock moves it; the
   * default waits in real time, for a store whose expiry runs on the wall clock (it is the passing of
   * time itself that the rule tests, not a condition that could be polled).
   */
  protected void elapse(RecoveryStore store, Duration duration) {
    long deadline = System.nanoTime() + duration.toNanos();
    long left;
    while ((left = deadline - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
  }

  /**
   * Makes {@code store} lose everything it holds, as a Redis restarted empty would. Capability: a
   * store that cannot simulate it leaves this unimplemented and the loss rules are skipped.
   *
   * @return false when not supported (the default)
   */
  protected boolean loseEverything(RecoveryStore store) {
    return false;
  }

  /** The bound of every single store call in the kit. */
  protected Duration callTimeout() {
    return Duration.ofSeconds(10);
  }

  @AfterEach
  void closeStores() {
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close();
    }
    opened.clear();
  }

  /** Roomy limits: nothing is trimmed or evicted unless a rule says so. */
  protected final Limits roomy() {
    return new Limits(window(), 10_000, 64L * 1024 * 1024, 1_000, 10_000, topicHistoryTtl());
  }

  /** A new store from {@link #newStore}, closed after the rule. */
  protected final RecoveryStore store(Limits limits) {
    RecoveryStore s = newStore(limits);
    opened.add(s);
    return s;
  }

  private RecoveryStore store() {
    return store(roomy());
  }

  /** Waits for {@code stage} within {@link #callTimeout()} and returns its value. */
  protected final <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(callTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    } catch (ExecutionException e) {
      throw new AssertionError("store call failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError("store call did not complete within " + callTimeout(), e);
    }
  }

  private static byte[] frame(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** Appends {@code m<from>..m<to>} (frames {@code f..}) to the user, one after another. */
  private List<UserAppend> appendAll(RecoveryStore s, String user, int from, int to) {
    List<UserAppend> out = new ArrayList<>();
    for (int i = from; i <= to; i++) {
      out.add(await(s.appendToUser(user, "m" + i, frame("f" + i), false)));
    }
    return out;
  }

  private static Map<String, SessionAppend> bySession(UserAppend a) {
    Map<String, SessionAppend> out = new HashMap<>();
    for (SessionAppend s : a.sessions()) {
      out.put(s.sessionId(), s);
    }
    return out;
  }

  private static List<String> ids(List<StoredMessage> messages) {
    List<String> ids = new ArrayList<>();
    for (StoredMessage m : messages) {
      ids.add(m.id());
    }
    return ids;
  }

  private static List<String> frames(List<StoredMessage> messages) {
    List<String> out = new ArrayList<>();
    for (StoredMessage m : messages) {
      out.add(new String(m.frame(), StandardCharsets.UTF_8));
    }
    return out;
  }

  @Nested
  @DisplayName("sessions")
  class Sessions {

    @Test
    @DisplayName("a new session is known, at seq 0, with an epoch")
    void create() {
      RecoveryStore s = store();
      SessionState state = await(s.create("alice", "s1", "i1/c1"));
      assertTrue(state.known());
      assertEquals(0, state.lastSeq());
      assertNotEquals(0, state.epoch());
      assertEquals(Backlog.Status.COMPLETE, await(s.read("alice", "s1", 0)).status());
    }

    @Test
    @DisplayName("a claim finds the session with its last seq, epoch and previous owner, and takes it over")
    void claim() {
      RecoveryStore s = store();
      long epoch = await(s.create("alice", "s1", "i1/c1")).epoch();
      appendAll(s, "alice", 1, 3);

      SessionState state = await(s.claim("alice", "s1", "i2/c2"));
      assertEquals(new SessionState(true, 3, "i1/c1", true, epoch), state);
      assertEquals("i2/c2", bySession(appendAll(s, "alice", 4, 4).get(0)).get("s1").owner());
    }

    @Test
    @DisplayName("a claim of a detached session reports its previous owner as no longer attached")
    void claimDetached() {
      RecoveryStore s = store();
      await(s.create("alice", "s1", "i1/c1"));
      await(s.detach("alice", "s1", "i1/c1"));

      SessionState state = await(s.claim("alice", "s1", "i2/c2"));
      assertTrue(state.known());
      assertFalse(state.attached(), state.toString());
    }

    @Test
    @DisplayName("a claim of an unknown session, or of another user's, finds nothing")
    void claimUnknown() {
      RecoveryStore s = store();
      await(s.create("alice", "s1", "i1/c1"));

      assertEquals(SessionState.unknown(), await(s.claim("alice", "nope", "i2/c2")));
      assertEquals(SessionState.unknown(), await(s.claim("mallory", "s1", "i2/c2")));
      // The failed claim changed nothing: alice's session still has its owner.
      assertEquals("i1/c1", bySession(appendAll(s, "alice", 1, 1).get(0)).get("s1").owner());
    }

    @Test
    @DisplayName("a detach by a connection that no longer owns the session changes nothing")
    void detachByStranger() {
      RecoveryStore s = store();
      await(s.create("alice", "s1", "i1/c1"));
      await(s.claim("alice", "s1", "i2/c2"));
      await(s.detach("alice", "s1", "i1/c1"));

      assertEquals("i2/c2", bySession(appendAll(s, "alice", 1, 1).get(0)).get("s1").owner());
    }

    @Test
    @DisplayName("a detached session can be resumed within the window, and is forgotten after it")
    void detachedWindow() {
      RecoveryStore s = store();
      await(s.create("alice", "s1", "i1/c1"));
      await(s.create("alice", "s2", "i1/c2"));
      await(s.detach("alice", "s1", "i1/c1"));
      await(s.detach("alice", "s2", "i1/c2"));
      await(s.claim("alice", "s2", "i1/c3"));

      elapse(s, window().multipliedBy(2));
      assertEquals(SessionState.unknown(), await(s.claim("alice", "s1", "i2/c2")));
      assertEquals(Backlog.Status.UNKNOWN, await(s.read("alice", "s1", 0)).status());
      // The attached one does not expire.
      assertTrue(await(s.claim("alice", "s2", "i2/c4")).known());
      assertEquals(List.of("s2"), List.copyOf(bySession(appendAll(s, "alice", 1, 1).get(0)).keySet()));
    }

    @Test
    @DisplayName("beyond maxSessionsPerUser a new session evicts the oldest detached ones, never a live one")
    void evictsOldestDetached() {
      RecoveryStore s = store(roomy().withMaxSessionsPerUser(3));
      await(s.create("alice", "live", "i1/c0"));
      for (int i = 1; i <= 3; i++) {
        await(s.create("alice", "d" + i, "i1/c" + i));
        await(s.detach("alice", "d" + i, "i1/c" + i));
      }
      await(s.create("alice", "new", "i1/c9"));

      assertEquals(SessionState.unknown(), await(s.claim("alice", "d1", "i2/c1")));
      assertEquals(SessionState.unknown(), await(s.claim("alice", "d2", "i2/c2")));
      assertEquals(List.of("d3", "live", "new"),
          bySession(appendAll(s, "alice", 1, 1).get(0)).keySet().stream().sorted().toList());

      // All live: nothing to evict, the new one is still created.
      await(s.create("alice", "new2", "i1/c10"));
      assertTrue(await(s.claim("alice", "live", "i1/c0")).known());
      assertTrue(await(s.claim("alice", "new2", "i1/c10")).known());
    }
  }

  @Nested
  @DisplayName("direct messages")
  class Direct {

    @Test
    @DisplayName("an append to a user reaches each of the user's sessions, numbered 1, 2, 3 in each")
    void appendsToEverySession() {
      RecoveryStore s = store();
      long e1 = await(s.create("alice", "s1", "i1/c1")).epoch();
      await(s.create("alice", "s2", "i2/c2"));
      await(s.create("bob", "s3", "i1/c3"));
      await(s.detach("alice", "s2", "i2/c2"));

      List<UserAppend> appends = appendAll(s, "alice", 1, 3);
      for (int i = 0; i < 3; i++) {
        Map<String, SessionAppend> by = bySession(appends.get(i));
        assertFalse(appends.get(i).duplicate());
        assertEquals(new SessionAppend("s1", i + 1, "i1/c1", e1), by.get("s1"));
        assertEquals(i + 1, by.get("s2").seq());
        assertNull(by.get("s2").owner(), "a detached session has no owner to deliver to");
        assertEquals(2, by.size(), "bob's session is not alice's");
      }
      assertEquals(List.of("m2", "m3"), ids(await(s.read("alice", "s2", 1)).messages()));
      assertEquals(List.of(), await(s.read("bob", "s3", 0)).messages());
    }

    @Test
    @DisplayName("an append to a user with no session reaches nothing")
    void noSessions() {
      RecoveryStore s = store();
      assertEquals(new UserAppend(List.of(), false), await(s.appendToUser("nobody", "m1", frame("f"), false)));
      assertEquals(new UserAppend(List.of(), false), await(s.appendToUser("nobody", "m1", frame("f"), true)));
    }

    @Test
    @DisplayName("read after n returns the later messages oldest first, with their ids and frames")
    void readAfter() {
      RecoveryStore s = store();
      await(s.create("alice", "s1", "i1/c1"));
      appendAll(s, "alice", 1, 5);

      Backlog b = await(s.read("alice", "s1", 2));
      assertEquals(new Backlog(3, b.messages(), Backlog.Status.COMPLETE), b);
      assertEquals(List.of("m3", "m4", "m5"), ids(b.messages()));
      assertEquals(List.of("f3", "f4", "f5"), frames(b.messages()));
      assertEquals(List.of(), await(s.read("alice", "s1", 5)).messages());
      assertEquals(Backlog.Status.COMPLETE, await(s.read("alice", "s1", 5)).status());
      assertEquals(Backlog.Status.AHEAD, await(s.read("alice", "s1", 6)).status());
      assertEquals(Backlog.Status.UNKNOWN, await(s.read("mallory", "s1", 0)).status());
    }

    @Test
    @DisplayName("ids and frames come back byte for byte, whatever bytes they hold")
    void bytesPreserved() {
      RecoveryStore s = store();
      await(s.create("alice", "s1", "i1/c1"));
      byte[] binary = new byte[256];
      for (int i = 0; i < binary.length; i++) {
        binary[i] = (byte) i;
      }
      String id = "id-é-\u00e5\u4e2d-" + "x".repeat(300);
      await(s.appendToUser("alice", id, binary, false));
      await(s.appendToUser("alice", "empty", new byte[0], false));

      Backlog b = await(s.read("alice", "s1", 0));
      assertEquals(id, b.messages().get(0).id());
      assertArrayEquals(binary, b.messages().get(0).frame());
      assertEquals(0, b.messages().get(1).frame().length);
    }

    @Test
    @DisplayName("appends issued together, without waiting, take effect in issue order")
    void pipelinedInOrder() {
      RecoveryStore s = store();
      await(s.create("alice", "s1", "i1/c1"));
      int n = 300;
      List<CompletableFuture<UserAppend>> stages = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        stages.add(s.appendToUser("alice", "m" + i, frame("f" + i), false).toCompletableFuture());
      }
      await(CompletableFuture.allOf(stages.toArray(CompletableFuture[]::new)));
      List<String> expected = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        expected.add("m" + i);
        assertEquals(i, stages.get(i - 1).join().sessions().get(0).seq(), "append #" + i);
      }
      assertEquals(expected, ids(await(s.read("alice", "s1", 0)).messages()));
    }

    @Test
    @DisplayName("beyond maxMessages the oldest are dropped, and a read from before them is TRIMMED")
    void trimmedByCount() {
      RecoveryStore s = store(roomy().withMaxMessages(3));
      await(s.create("alice", "s1", "i1/c1"));
      appendAll(s, "alice", 1, 5);

      assertEquals(Backlog.Status.TRIMMED, await(s.read("alice", "s1", 1)).status());
      Backlog b = await(s.read("alice", "s1", 2));
      assertEquals(List.of("m3", "m4", "m5"), ids(b.messages()));
    }

    @Test
    @DisplayName("beyond maxBytes the oldest are dropped (the newest is always kept)")
    void trimmedByBytes() {
      RecoveryStore s = store(roomy().withMaxBytes(25));
      await(s.create("alice", "s1", "i1/c1"));
      for (int i = 1; i <= 4; i++) {
        await(s.appendToUser("alice", "m" + i, frame("0123456789"), false));
      }
      assertEquals(Backlog.Status.TRIMMED, await(s.read("alice", "s1", 1)).status());
      assertEquals(List.of("m3", "m4"), ids(await(s.read("alice", "s1", 2)).messages()));

      await(s.appendToUser("alice", "big", frame("x".repeat(100)), false));
      assertEquals(List.of("big"), ids(await(s.read("alice", "s1", 4)).messages()));
    }

    @Test
    @DisplayName("a deduplicating append of an id already appended appends nothing and reports the earlier seqs")
    void dedupe() {
      RecoveryStore s = store();
      await(s.create("alice", "s1", "i1/c1"));
      await(s.create("alice", "s2", "i1/c2"));
      await(s.appendToUser("alice", "x", frame("f"), false));
      await(s.appendToUser("alice", "m2", frame("f2"), false));

      UserAppend again = await(s.appendToUser("alice", "x", frame("f"), true));
      assertTrue(again.duplicate());
      assertEquals(1, bySession(again).get("s1").seq());
      assertEquals(1, bySession(again).get("s2").seq());
      assertEquals(List.of("x", "m2"), ids(await(s.read("alice", "s1", 0)).messages()));

      // Without dedupe the same id is appended again.
      UserAppend twice = await(s.appendToUser("alice", "x", frame("f"), false));
      assertFalse(twice.duplicate());
      assertEquals(3, bySession(twice).get("s1").seq());
    }

    @Test
    @DisplayName("an append to one session appends there only, and not twice")
    void appendToSession() {
      RecoveryStore s = store();
      long epoch = await(s.create("alice", "s1", "i1/c1")).epoch();
      await(s.create("alice", "s2", "i1/c2"));
      appendAll(s, "alice", 1, 2);

      assertEquals(new SessionAppend("s1", 3, "i1/c1", epoch), await(s.appendToSession("alice", "s1", "x", frame("x"))));
      assertEquals(new SessionAppend("s1", 3, "i1/c1", epoch), await(s.appendToSession("alice", "s1", "x", frame("x"))));
      assertEquals(List.of("m1", "m2"), ids(await(s.read("alice", "s2", 0)).messages()));
      assertNull(await(s.appendToSession("alice", "nope", "x", frame("x"))));
      assertNull(await(s.appendToSession("mallory", "s1", "x", frame("x"))));
    }
  }

  @Nested
  @DisplayName("a store that lost its data")
  class Loss {

    @Test
    @DisplayName("the incarnation stays the same while nothing is lost")
    void incarnationStable() {
      RecoveryStore s = store();
      String first = await(s.incarnation());
      await(s.create("alice", "s1", "i1/c1"));
      assertEquals(first, await(s.incarnation()));
    }

    @Test
    @DisplayName("after a loss the incarnation changes, and a restore continues a live session in a new epoch")
    void restoreAfterLoss() {
      RecoveryStore s = store();
      long epoch = await(s.create("alice", "s1", "i1/c1")).epoch();
      appendAll(s, "alice", 1, 5);
      String before = await(s.incarnation());
      assumeTrue(loseEverything(s), "the store cannot simulate a loss");

      assertNotEquals(before, await(s.incarnation()));
      assertEquals(new UserAppend(List.of(), false), await(s.appendToUser("alice", "lost", frame("x"), false)));
      SessionState restored = await(s.restore("alice", "s1", "i1/c1", 5));
      assertTrue(restored.known());
      assertEquals(5, restored.lastSeq());
      assertNotEquals(epoch, restored.epoch());

      assertEquals(6, bySession(appendAll(s, "alice", 6, 6).get(0)).get("s1").seq());
      assertEquals(Backlog.Status.LOST, await(s.read("alice", "s1", 3)).status());
      assertEquals(List.of("m6"), ids(await(s.read("alice", "s1", 5)).messages()));

      // Restoring what the store has changes nothing.
      assertEquals(restored.epoch(), await(s.restore("alice", "s1", "i1/c1", 2)).epoch());
      assertEquals(6, await(s.claim("alice", "s1", "i1/c1")).lastSeq());
    }

    @Test
    @DisplayName("restoring a session the store has changes nothing")
    void restoreKnown() {
      RecoveryStore s = store();
      SessionState created = await(s.create("alice", "s1", "i1/c1"));
      appendAll(s, "alice", 1, 2);

      SessionState again = await(s.restore("alice", "s1", "i1/c1", 0));
      assertEquals(2, again.lastSeq());
      assertEquals(created.epoch(), again.epoch());
      assertEquals(Backlog.Status.COMPLETE, await(s.read("alice", "s1", 0)).status());
    }
  }

  @Nested
  @DisplayName("topics")
  class Topics {

    @Test
    @DisplayName("publications are numbered 1, 2, 3 in one epoch, and the position follows")
    void offsets() {
      RecoveryStore s = store();
      TopicAppend first = await(s.appendToTopic("room", "p1", frame("f1"), false));
      assertEquals(1, first.offset());
      assertNotEquals(0, first.epoch());
      assertEquals(new TopicAppend(2, first.epoch(), false), await(s.appendToTopic("room", "p2", frame("f2"), false)));
      assertEquals(new TopicPosition(2, first.epoch()), await(s.topicPosition("room")));
      assertEquals(1, await(s.appendToTopic("other", "q1", frame("g1"), false)).offset());
    }

    @Test
    @DisplayName("a read after n returns the later publications; after the newest, nothing; ahead, trimmed")
    void read() {
      RecoveryStore s = store();
      long epoch = 0;
      for (int i = 1; i <= 4; i++) {
        epoch = await(s.appendToTopic("room", "p" + i, frame("f" + i), false)).epoch();
      }
      TopicBacklog b = await(s.readTopic("room", 2));
      assertEquals(new TopicBacklog(epoch, 3, b.messages(), false), b);
      assertEquals(List.of("p3", "p4"), ids(b.messages()));
      assertEquals(List.of("f3", "f4"), frames(b.messages()));
      assertEquals(new TopicBacklog(epoch, 5, List.of(), false), await(s.readTopic("room", 4)));
      assertTrue(await(s.readTopic("room", 9)).trimmed());
      assertEquals(0, await(s.readTopic("none", 0)).epoch());
      assertFalse(await(s.readTopic("none", 0)).trimmed());
    }

    @Test
    @DisplayName("beyond topicMaxMessages the oldest are dropped, and a read from before them is trimmed")
    void trimmed() {
      RecoveryStore s = store(roomy().withTopicMaxMessages(2));
      for (int i = 1; i <= 4; i++) {
        await(s.appendToTopic("room", "p" + i, frame("f" + i), false));
      }
      assertTrue(await(s.readTopic("room", 1)).trimmed());
      assertEquals(List.of("p3", "p4"), ids(await(s.readTopic("room", 2)).messages()));
    }

    @Test
    @DisplayName("the position of a topic without history starts one: offset 0 in an epoch its first publication keeps")
    void positionStartsHistory() {
      RecoveryStore s = store();
      TopicPosition start = await(s.topicPosition("room"));
      assertEquals(0, start.offset());
      assertNotEquals(0, start.epoch());
      assertEquals(start, await(s.topicPosition("room")));
      assertEquals(new TopicAppend(1, start.epoch(), false), await(s.appendToTopic("room", "p1", frame("f1"), false)));
    }

    @Test
    @DisplayName("a deduplicating append of a recent id appends nothing and reports the earlier offset")
    void dedupe() {
      RecoveryStore s = store();
      long epoch = await(s.appendToTopic("room", "p1", frame("f1"), false)).epoch();
      await(s.appendToTopic("room", "p2", frame("f2"), false));

      assertEquals(new TopicAppend(1, epoch, true), await(s.appendToTopic("room", "p1", frame("f1"), true)));
      assertEquals(new TopicPosition(2, epoch), await(s.topicPosition("room")));
    }

    @Test
    @DisplayName("a quiet topic's history expires, its numbering does not")
    void historyExpires() {
      RecoveryStore s = store();
      long epoch = 0;
      for (int i = 1; i <= 3; i++) {
        epoch = await(s.appendToTopic("room", "p" + i, frame("f" + i), false)).epoch();
      }
      elapse(s, topicHistoryTtl().multipliedBy(2));

      assertTrue(await(s.readTopic("room", 1)).trimmed());
      assertEquals(new TopicPosition(3, epoch), await(s.topicPosition("room")));
      assertEquals(new TopicAppend(4, epoch, false), await(s.appendToTopic("room", "p4", frame("f4"), false)));
      assertEquals(List.of("p4"), ids(await(s.readTopic("room", 3)).messages()));
    }

    @Test
    @DisplayName("after a loss a topic starts over in a new epoch")
    void lossNewEpoch() {
      RecoveryStore s = store();
      long epoch = await(s.appendToTopic("room", "p1", frame("f1"), false)).epoch();
      assumeTrue(loseEverything(s), "the store cannot simulate a loss");

      TopicPosition after = await(s.topicPosition("room"));
      assertEquals(0, after.offset());
      assertNotEquals(epoch, after.epoch());
      TopicAppend next = await(s.appendToTopic("room", "p2", frame("f2"), false));
      assertEquals(new TopicAppend(1, after.epoch(), false), next);
    }
  }
}
