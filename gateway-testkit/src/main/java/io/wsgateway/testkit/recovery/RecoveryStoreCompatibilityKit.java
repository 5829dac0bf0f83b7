package io.wsgateway.testkit.recovery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.recovery.AppendResult;
import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.StoredMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * <p>Subclasses provide {@link #newStore(Duration, int)}. Expiry rules let time pass through {@link
 * #elapse(RecoveryStore, Duration)}: a store that reads an injected clock moves it (instant and
 * deterministic); the default waits in real time, so a store with real-time expiry (Redis TTLs)
 * overrides {@link #window()} with a short window instead.
 *
 * <pre>{@code
 * class MyStoreTest extends RecoveryStoreCompatibilityKit {
 *   @Override protected RecoveryStore newStore(Duration window, int maxMessages) {
 *     return MyStore.create(freshKeyspace(), window, maxMessages);
 *   }
 *   @Override protected Duration window() { return Duration.ofSeconds(1); }
 * }
 * }</pre>
 *
 * <p>Each rule uses fresh stores that the kit closes after the rule. The kit runs on JUnit's test
 * thread (and, for the concurrency rules, a few threads of its own) and blocks only them, waiting for
 * the store's stages within {@link #callTimeout()}.
 */
public abstract class RecoveryStoreCompatibilityKit {

  /** The per-session limit of the rules that do not test trimming: large enough never to trim. */
  protected static final int ROOMY = 10_000;

  private final List<RecoveryStore> opened = new ArrayList<>();

  /**
   * The store under test: new and empty, keeping detached sessions for {@code window} and at most
   * {@code maxMessages} messages per session.
   */
  protected abstract RecoveryStore newStore(Duration window, int maxMessages);

  /**
   * The recovery window the kit configures. Default 120 s, fine for a store whose time {@link
   * #elapse} moves; a store that expires in real time returns a short one (about a second): the
   * expiry rules wait about twice this long.
   */
  protected Duration window() {
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

  /** A new store from {@link #newStore}, closed after the rule. */
  protected final RecoveryStore store(int maxMessages) {
    RecoveryStore s = newStore(window(), maxMessages);
    opened.add(s);
    return s;
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

  /** Appends {@code count} messages {@code m1..mN} (frames {@code f1..fN}) one after another. */
  private List<Long> appendAll(RecoveryStore s, String session, String owner, int count) {
    List<Long> seqs = new ArrayList<>();
    for (int i = 1; i <= count; i++) {
      AppendResult r = await(s.append(session, owner, "m" + i, frame("f" + i)));
      assertTrue(r.appended(), () -> "append by the owner: " + r);
      seqs.add(r.seq());
    }
    return seqs;
  }

  private static List<String> ids(Backlog b) {
    List<String> ids = new ArrayList<>();
    for (StoredMessage m : b.messages()) {
      ids.add(m.id());
    }
    return ids;
  }

  private static List<String> frames(Backlog b) {
    List<String> out = new ArrayList<>();
    for (StoredMessage m : b.messages()) {
      out.add(new String(m.frame(), StandardCharsets.UTF_8));
    }
    return out;
  }

  @Nested
  @DisplayName("append")
  class Append {

    @Test
    @DisplayName("appends to a new session are assigned 1, 2, 3")
    void sequenceStartsAtOne() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));

      assertEquals(List.of(1L, 2L, 3L), appendAll(s, "s1", "i1/c1", 3));
    }

    @Test
    @DisplayName("an append by another owner is refused with the current owner and assigns nothing")
    void strangerRefused() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));

      assertEquals(AppendResult.notOwner("i1/c1"), await(s.append("s1", "i2/c9", "x", frame("x"))));
      assertEquals(List.of(1L), appendAll(s, "s1", "i1/c1", 1));
    }

    @Test
    @DisplayName("an append to a session that never existed is refused with no owner")
    void unknownSessionRefused() {
      RecoveryStore s = store(ROOMY);

      assertEquals(AppendResult.notOwner(null), await(s.append("nope", "i1/c1", "x", frame("x"))));
    }

    @Test
    @DisplayName("appends issued together, without waiting, complete in issue order with 1..n")
    void pipelinedAppendsCompleteInOrder() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      int n = 200;
      List<Long> completed = Collections.synchronizedList(new ArrayList<>());
      List<CompletableFuture<AppendResult>> stages = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        stages.add(s.append("s1", "i1/c1", "m" + i, frame("f" + i)).toCompletableFuture()
            .whenComplete((r, e) -> completed.add(r == null ? -1L : r.seq())));
      }
      await(CompletableFuture.allOf(stages.toArray(CompletableFuture[]::new)));

      List<Long> expected = new ArrayList<>();
      for (long i = 1; i <= n; i++) {
        expected.add(i);
        assertEquals(AppendResult.appended(i), stages.get((int) i - 1).join(), "append #" + i);
      }
      assertEquals(expected, completed, "completion order");
      assertEquals(n, await(s.read("s1", 0)).messages().size());
    }
  }

  @Nested
  @DisplayName("read")
  class Read {

    @Test
    @DisplayName("read after n returns the later messages oldest first, with their ids and frames")
    void readAfter() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      appendAll(s, "s1", "i1/c1", 5);

      Backlog b = await(s.read("s1", 2));
      assertEquals(3, b.firstSeq());
      assertFalse(b.trimmed());
      assertEquals(List.of("m3", "m4", "m5"), ids(b));
      assertEquals(List.of("f3", "f4", "f5"), frames(b));

      Backlog all = await(s.read("s1", 0));
      assertEquals(1, all.firstSeq());
      assertEquals(List.of("m1", "m2", "m3", "m4", "m5"), ids(all));
      assertFalse(all.trimmed());
    }

    @Test
    @DisplayName("read after the last seq, or of a new session, is empty and not trimmed")
    void readUpToDate() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      assertEquals(new Backlog(1, List.of(), false), await(s.read("s1", 0)));

      appendAll(s, "s1", "i1/c1", 2);
      assertEquals(new Backlog(3, List.of(), false), await(s.read("s1", 2)));
    }

    @Test
    @DisplayName("ids and frames come back byte for byte, whatever bytes they hold")
    void bytesPreserved() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      byte[] binary = new byte[256];
      for (int i = 0; i < binary.length; i++) {
        binary[i] = (byte) i;
      }
      String id = "id-é-\u00e5\u4e2d-" + "x".repeat(300);
      await(s.append("s1", "i1/c1", id, binary));
      await(s.append("s1", "i1/c1", "", new byte[0]));

      Backlog b = await(s.read("s1", 0));
      assertEquals(2, b.messages().size());
      assertEquals(id, b.messages().get(0).id());
      assertArrayEquals(binary, b.messages().get(0).frame());
      assertEquals("", b.messages().get(1).id());
      assertArrayEquals(new byte[0], b.messages().get(1).frame());
    }

    @Test
    @DisplayName("a session that never existed reads as trimmed: the client must resync")
    void unknownReadsTrimmed() {
      RecoveryStore s = store(ROOMY);

      Backlog b = await(s.read("nope", 4));
      assertTrue(b.trimmed());
      assertEquals(5, b.firstSeq());
    }
  }

  @Nested
  @DisplayName("trimming")
  class Trimming {

    @Test
    @DisplayName("with a limit of 3, after 5 appends read(0) is trimmed and read(2) returns 3, 4, 5")
    void oldestDropped() {
      RecoveryStore s = store(3);
      await(s.create("s1", "alice", "i1/c1"));
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L), appendAll(s, "s1", "i1/c1", 5));

      Backlog from0 = await(s.read("s1", 0));
      assertTrue(from0.trimmed(), "messages 1 and 2 were dropped: " + from0);
      assertEquals(1, from0.firstSeq());
      Backlog from1 = await(s.read("s1", 1));
      assertTrue(from1.trimmed(), "message 2 was dropped: " + from1);

      Backlog from2 = await(s.read("s1", 2));
      assertFalse(from2.trimmed());
      assertEquals(3, from2.firstSeq());
      assertEquals(List.of("m3", "m4", "m5"), ids(from2));
      assertEquals(new Backlog(6, List.of(), false), await(s.read("s1", 5)));
    }

    @Test
    @DisplayName("sequence numbers keep counting past the limit")
    void seqKeepsCounting() {
      RecoveryStore s = store(2);
      await(s.create("s1", "alice", "i1/c1"));
      appendAll(s, "s1", "i1/c1", 10);

      assertEquals(10, await(s.claim("s1", "alice", "i2/c2")).lastSeq());
      assertEquals(List.of("m9", "m10"), ids(await(s.read("s1", 8))));
    }
  }

  @Nested
  @DisplayName("claim")
  class Claim {

    @Test
    @DisplayName("a claim by the same user returns the last seq, the subscriptions and the previous owner")
    void claimReturnsState() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      appendAll(s, "s1", "i1/c1", 4);
      await(s.subscriptions("s1", "i1/c1", Set.of("news", "chat/42")));

      assertEquals(
          new SessionState(true, 4, Set.of("news", "chat/42"), "i1/c1"),
          await(s.claim("s1", "alice", "i2/c7")));
    }

    @Test
    @DisplayName("a claim of a new session returns seq 0 and no subscriptions")
    void claimEmpty() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));

      assertEquals(new SessionState(true, 0, Set.of(), "i1/c1"), await(s.claim("s1", "alice", "i1/c2")));
    }

    @Test
    @DisplayName("a claim by another user, or of an unknown id, returns unknown and changes nothing")
    void otherUserOrUnknown() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));

      assertEquals(SessionState.unknown(), await(s.claim("s1", "mallory", "i9/c9")));
      assertEquals(SessionState.unknown(), await(s.claim("nope", "alice", "i9/c9")));
      assertEquals(AppendResult.appended(1), await(s.append("s1", "i1/c1", "m1", frame("f1"))));
    }

    @Test
    @DisplayName("after a claim the old owner's appends fail with the new owner, the new owner's continue the sequence")
    void claimMovesOwnership() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      appendAll(s, "s1", "i1/c1", 2);
      await(s.claim("s1", "alice", "i2/c5"));

      assertEquals(AppendResult.notOwner("i2/c5"), await(s.append("s1", "i1/c1", "late", frame("late"))));
      assertEquals(AppendResult.appended(3), await(s.append("s1", "i2/c5", "m3", frame("f3"))));
      assertEquals(List.of("m1", "m2", "m3"), ids(await(s.read("s1", 0))));
    }

    @Test
    @DisplayName("a second claim names the first claimant as previous owner")
    void previousOwnerChains() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      await(s.claim("s1", "alice", "i2/c2"));

      assertEquals("i2/c2", await(s.claim("s1", "alice", "i3/c3")).previousOwner());
    }
  }

  @Nested
  @DisplayName("subscriptions")
  class Subscriptions {

    @Test
    @DisplayName("the last set recorded replaces earlier ones, the empty set included")
    void lastSetWins() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      await(s.subscriptions("s1", "i1/c1", Set.of("a", "b")));
      await(s.subscriptions("s1", "i1/c1", Set.of("b", "topic with spaces, commas\nand newlines", "ü")));
      assertEquals(
          Set.of("b", "topic with spaces, commas\nand newlines", "ü"),
          await(s.claim("s1", "alice", "i1/c2")).subscriptions());

      await(s.subscriptions("s1", "i1/c2", Set.of()));
      assertEquals(Set.of(), await(s.claim("s1", "alice", "i1/c3")).subscriptions());
    }

    @Test
    @DisplayName("only the owner records subscriptions: a former owner's set is ignored")
    void onlyOwner() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      await(s.subscriptions("s1", "i1/c1", Set.of("a")));
      await(s.claim("s1", "alice", "i2/c2"));
      await(s.subscriptions("s1", "i1/c1", Set.of("stale")));
      assertEquals(Set.of("a"), await(s.claim("s1", "alice", "i3/c3")).subscriptions());
    }

    @Test
    @DisplayName("recording subscriptions of an unknown session completes and does not create it")
    void unknownIgnored() {
      RecoveryStore s = store(ROOMY);
      await(s.subscriptions("nope", "i1/c1", Set.of("a")));

      assertEquals(SessionState.unknown(), await(s.claim("nope", "alice", "i1/c1")));
    }
  }

  @Nested
  @DisplayName("detach and expiry")
  class Expiry {

    @Test
    @DisplayName("a detached session is forgotten once the recovery window passes")
    void detachedExpires() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      appendAll(s, "s1", "i1/c1", 2);
      await(s.detach("s1", "i1/c1"));

      elapse(s, window().plus(window().dividedBy(2)));

      assertEquals(SessionState.unknown(), await(s.claim("s1", "alice", "i2/c2")));
      assertEquals(AppendResult.notOwner(null), await(s.append("s1", "i1/c1", "m3", frame("f3"))));
      assertTrue(await(s.read("s1", 0)).trimmed(), "a forgotten session reads as trimmed");
    }

    @Test
    @DisplayName("a session claimed within the window is kept, and no longer expires")
    void claimWithinWindowKeeps() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      appendAll(s, "s1", "i1/c1", 2);
      await(s.detach("s1", "i1/c1"));
      elapse(s, window().dividedBy(4));

      assertEquals(new SessionState(true, 2, Set.of(), "i1/c1"), await(s.claim("s1", "alice", "i2/c2")));

      elapse(s, window().multipliedBy(2));
      assertEquals(AppendResult.appended(3), await(s.append("s1", "i2/c2", "m3", frame("f3"))));
      assertEquals(List.of("m1", "m2", "m3"), ids(await(s.read("s1", 0))));
    }

    @Test
    @DisplayName("a detach by a former owner does not start the window of the session's new owner")
    void detachByFormerOwnerIgnored() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      await(s.claim("s1", "alice", "i2/c2"));
      // The old connection's close is often seen after the new one claimed the session.
      await(s.detach("s1", "i1/c1"));

      elapse(s, window().plus(window().dividedBy(2)));
      assertEquals(AppendResult.appended(1), await(s.append("s1", "i2/c2", "m1", frame("f1"))));
    }

    @Test
    @DisplayName("an attached session does not expire with the recovery window")
    void attachedKept() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));

      elapse(s, window().plus(window().dividedBy(2)));
      assertEquals(AppendResult.appended(1), await(s.append("s1", "i1/c1", "m1", frame("f1"))));
    }

    @Test
    @DisplayName("appends by the owner after a detach are kept but do not extend the window")
    void appendAfterDetach() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      await(s.detach("s1", "i1/c1"));
      elapse(s, window().dividedBy(2));
      assertEquals(AppendResult.appended(1), await(s.append("s1", "i1/c1", "m1", frame("f1"))));
      assertEquals(List.of("m1"), ids(await(s.read("s1", 0))));

      elapse(s, window().dividedBy(2).plus(window().dividedBy(4)));
      assertEquals(SessionState.unknown(), await(s.claim("s1", "alice", "i2/c2")));
    }
  }

  @Nested
  @DisplayName("sessions of a user")
  class SessionsOfUser {

    @Test
    @DisplayName("lists the user's resumable sessions with their current owners, and no one else's")
    void listsWithOwners() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      await(s.create("s2", "alice", "i1/c2"));
      await(s.create("s3", "bob", "i1/c3"));
      await(s.claim("s2", "alice", "i2/c9"));
      // A claim naming the wrong user changes nothing and lists nothing.
      assertEquals(SessionState.unknown(), await(s.claim("s1", "bob", "i3/c1")));

      assertEquals(java.util.Map.of("s1", "i1/c1", "s2", "i2/c9"), await(s.sessionsOf("alice")));
      assertEquals(java.util.Map.of("s3", "i1/c3"), await(s.sessionsOf("bob")));
      assertEquals(java.util.Map.of(), await(s.sessionsOf("carol")));
    }

    @Test
    @DisplayName("lists a detached session within the window, not after it")
    void detachedUntilWindowEnds() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      await(s.create("s2", "alice", "i1/c2"));
      await(s.detach("s1", "i1/c1"));
      assertEquals(java.util.Map.of("s1", "i1/c1", "s2", "i1/c2"), await(s.sessionsOf("alice")));

      elapse(s, window().plus(window().dividedBy(2)));
      assertEquals(java.util.Map.of("s2", "i1/c2"), await(s.sessionsOf("alice")));
    }

    @Test
    @DisplayName("an append by the owner named there succeeds, and fails once the session is claimed")
    void ownerIsUsableForAppend() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      String owner = await(s.sessionsOf("alice")).get("s1");
      assertEquals(AppendResult.appended(1), await(s.append("s1", owner, "m1", frame("f1"))));
      await(s.claim("s1", "alice", "i2/c2"));
      assertEquals(AppendResult.notOwner("i2/c2"), await(s.append("s1", owner, "m2", frame("f2"))));
    }
  }

  @Nested
  @DisplayName("isolation")
  class Isolation {

    @Test
    @DisplayName("sessions are independent: own sequence, messages, owner, subscriptions and expiry")
    void sessionsIndependent() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      await(s.create("s2", "alice", "i1/c2"));
      await(s.create("s3", "bob", "i1/c3"));
      appendAll(s, "s1", "i1/c1", 3);
      assertEquals(List.of(1L), appendAll(s, "s2", "i1/c2", 1));
      await(s.subscriptions("s1", "i1/c1", Set.of("t1")));

      assertEquals(AppendResult.notOwner("i1/c2"), await(s.append("s2", "i1/c1", "x", frame("x"))));
      assertEquals(List.of("m1"), ids(await(s.read("s2", 0))));

      await(s.detach("s1", "i1/c1"));
      elapse(s, window().plus(window().dividedBy(2)));
      assertEquals(SessionState.unknown(), await(s.claim("s1", "alice", "i2/c1")));
      assertEquals(new SessionState(true, 1, Set.of(), "i1/c2"), await(s.claim("s2", "alice", "i2/c2")));
      assertEquals(new SessionState(true, 0, Set.of(), "i1/c3"), await(s.claim("s3", "bob", "i2/c3")));
    }
  }

  @Nested
  @DisplayName("concurrency")
  class Concurrency {

    private static final int THREADS = 4;
    private static final int PER_THREAD = 250;

    @Test
    @DisplayName("appends from several threads to one session get distinct, contiguous seqs, each thread's in its order")
    void parallelAppendsContiguous() throws Exception {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      List<List<Long>> perThread = new ArrayList<>();
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        List<Future<List<Long>>> futures = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
          int thread = t;
          futures.add(pool.submit(() -> {
            List<CompletableFuture<AppendResult>> stages = new ArrayList<>();
            for (int i = 0; i < PER_THREAD; i++) {
              stages.add(s.append("s1", "i1/c1", "t" + thread + "-" + i, frame("f")).toCompletableFuture());
            }
            List<Long> seqs = new ArrayList<>();
            for (CompletableFuture<AppendResult> stage : stages) {
              AppendResult r = await(stage);
              assertTrue(r.appended(), r::toString);
              seqs.add(r.seq());
            }
            return seqs;
          }));
        }
        for (Future<List<Long>> f : futures) {
          perThread.add(f.get(callTimeout().toMillis() * 2, TimeUnit.MILLISECONDS));
        }
      } finally {
        pool.shutdownNow();
      }

      TreeSet<Long> all = new TreeSet<>();
      for (List<Long> seqs : perThread) {
        for (int i = 1; i < seqs.size(); i++) {
          assertTrue(seqs.get(i) > seqs.get(i - 1), "one thread's appends complete in issue order: " + seqs);
        }
        all.addAll(seqs);
      }
      assertEquals(THREADS * PER_THREAD, all.size(), "distinct seqs");
      assertEquals(1L, all.first());
      assertEquals((long) THREADS * PER_THREAD, all.last());

      // The log holds each message at the seq its append returned.
      Backlog b = await(s.read("s1", 0));
      assertEquals(THREADS * PER_THREAD, b.messages().size());
      for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
          long seq = perThread.get(t).get(i);
          assertEquals("t" + t + "-" + i, b.messages().get((int) (seq - b.firstSeq())).id(), "seq " + seq);
        }
      }
    }

    @Test
    @DisplayName("a claim racing appends leaves every seq the old owner got in the log, and the new owner continues after them")
    void claimRacingAppends() {
      RecoveryStore s = store(ROOMY);
      await(s.create("s1", "alice", "i1/c1"));
      List<CompletableFuture<AppendResult>> stages = new ArrayList<>();
      CompletableFuture<SessionState> claim = null;
      for (int i = 0; i < 100; i++) {
        stages.add(s.append("s1", "i1/c1", "m" + i, frame("f")).toCompletableFuture());
        if (i == 50) {
          claim = s.claim("s1", "alice", "i2/c2").toCompletableFuture();
        }
      }
      SessionState state = await(claim);
      long appended = 0;
      for (CompletableFuture<AppendResult> stage : stages) {
        AppendResult r = await(stage);
        if (r.appended()) {
          appended++;
          assertEquals(appended, r.seq());
        } else {
          assertEquals("i2/c2", r.owner());
        }
      }
      assertEquals(appended, state.lastSeq(), "the claim saw every append that succeeded");
      assertEquals(AppendResult.appended(appended + 1), await(s.append("s1", "i2/c2", "n", frame("n"))));
    }
  }
}
