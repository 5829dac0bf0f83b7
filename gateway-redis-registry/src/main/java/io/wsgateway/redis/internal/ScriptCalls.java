package io.wsgateway.redis.internal;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's script calls on its one connection, in issue order: calls issued one after another
 * take effect in that order, also when Redis lost the scripts (NOSCRIPT after a restart, a failover
 * or SCRIPT FLUSH).
 *
 * <p>Normally a call is one EVALSHA, sent at once and pipelined behind the others; the connection
 * keeps their order. When one comes back with NOSCRIPT, every call sent after it fails the same way
 * (nobody else can load this store's scripts: see {@link RecoveryScripts}), so this:
 * <ol>
 *   <li>stops sending: new calls wait in a bounded queue, in issue order;
 *   <li>waits until every call in flight has been answered (or has timed out);
 *   <li>sends SCRIPT LOAD for every script, then the calls that failed with NOSCRIPT in their
 *       original order, then the queued ones, all in one go behind each other, and goes back to
 *       sending at once.
 * </ol>
 * A call that waited has no timeout while it waits, but the calls it waits for have theirs: it is
 * sent at most about one command timeout late, and then has its own.
 *
 * <p>Retrying each failed call by itself instead (EVAL on its NOSCRIPT) lets calls issued meanwhile
 * overtake the failed ones that are not yet sent again. Only NOSCRIPT is retried: Redis refused
 * the call before running it. A call that timed out, or whose connection dropped, fails: it may have
 * taken effect, and whether to retry is its caller's decision.
 *
 * <p>Thread-safe. Issuers take {@link #lock} to check the state and send; Lettuce's I/O thread,
 * which completes the calls, never takes it (it hands the bookkeeping of a NOSCRIPT to {@link
 * #executor}), so no thread holding a Lettuce lock ever waits for ours.
 */
final class ScriptCalls {

  private static final Logger log = LoggerFactory.getLogger(ScriptCalls.class);
  /** NOSCRIPT answers one call may get before it fails: Redis keeps losing its scripts. */
  static final int MAX_ATTEMPTS = 3;

  private final RedisAsyncCommands<byte[], byte[]> redis;
  private final Flusher flusher;
  /** The store's single flush thread: runs the reloads, never concurrently with itself. */
  private final Executor executor;
  private final List<RecoveryScripts.Script> scripts;
  private final int maxWaiting;

  private final Object lock = new Object();
  /** Calls sent and not yet answered. Raised under the lock, lowered by the callbacks. */
  private final AtomicInteger inFlight = new AtomicInteger();
  /** Stop sending: a NOSCRIPT was seen and the scripts are not yet reloaded. */
  private volatile boolean reloading;
  // Guarded by lock:
  private boolean closed;
  private long nextSeq;
  private long reloads;
  private final ArrayList<Call<?>> failed = new ArrayList<>();
  private final ArrayDeque<Call<?>> queued = new ArrayDeque<>();

  ScriptCalls(RedisAsyncCommands<byte[], byte[]> redis, Flusher flusher, Executor executor,
      List<RecoveryScripts.Script> scripts, int maxWaiting) {
    this.redis = redis;
    this.flusher = flusher;
    this.executor = executor;
    this.scripts = scripts;
    this.maxWaiting = maxWaiting;
  }

  /** Runs {@code script}; the stage completes with its reply as {@code decode} makes it. */
  <T> CompletableFuture<T> call(RecoveryScripts.Script script, byte[][] keys, byte[][] args,
      Function<List<Object>, T> decode) {
    Call<T> call = new Call<>(this, script, keys, args, decode);
    CompletionStage<List<Object>> sent = null;
    String refused = null;
    synchronized (lock) {
      if (closed) {
        refused = "closed";
      } else {
        call.seq = nextSeq++;
        if (!reloading) {
          sent = send(call);
        } else if (queued.size() + failed.size() < maxWaiting) {
          queued.add(call);
        } else {
          refused = "more than " + maxWaiting + " calls waiting for Redis to get the scripts again";
        }
      }
    }
    // Outside the lock, so that no caller's callback runs holding it: a refusal, and a call that
    // Lettuce rejected at once (disconnected, queue full), which completes right here.
    if (refused != null) {
      call.fail(RedisRecoveryStoreImpl.unavailable(refused, null));
    } else if (sent != null) {
      sent.whenComplete(call);
      flusher.flushSoon();
    }
    return call;
  }

  /**
   * Sends {@code call}; its answer, whatever it is, lowers {@link #inFlight} again (in {@link
   * Call#accept}). Hold the lock.
   */
  private CompletionStage<List<Object>> send(Call<?> call) {
    inFlight.incrementAndGet();
    try {
      return redis.evalsha(call.script.sha, ScriptOutputType.MULTI, call.keys, call.args);
    } catch (RuntimeException e) {
      // Lettuce reports refusals through the future; anything thrown is answered the same way.
      return CompletableFuture.failedFuture(e);
    }
  }

  /** How often the scripts were reloaded after Redis lost them. */
  long reloads() {
    synchronized (lock) {
      return reloads;
    }
  }

  /** Fails the calls waiting for a reload; later calls fail at once. */
  void close() {
    List<Call<?>> waiting;
    synchronized (lock) {
      closed = true;
      waiting = new ArrayList<>(failed);
      waiting.addAll(queued);
      failed.clear();
      queued.clear();
    }
    for (Call<?> c : waiting) {
      c.fail(RedisRecoveryStoreImpl.unavailable("closed", null));
    }
  }

  // ---- answers ----

  /** A call answered other than by NOSCRIPT (Lettuce's I/O thread, or the issuer on a rejection). */
  private void answered() {
    if (inFlight.decrementAndGet() == 0 && reloading) {
      resumeSoon();
    }
  }

  /** A call answered NOSCRIPT: keep it to send again (on the executor, see the class comment). */
  private void noScript(Call<?> call) {
    try {
      executor.execute(() -> {
        String giveUp = null;
        synchronized (lock) {
          if (closed) {
            giveUp = "closed";
          } else if (++call.attempts >= MAX_ATTEMPTS) {
            giveUp = "Redis lost the store's scripts " + MAX_ATTEMPTS + " times during one call";
          } else {
            failed.add(call);
            // Before the decrement below: whoever sees inFlight reach 0 must also see this.
            reloading = true;
          }
        }
        if (giveUp != null) {
          call.fail(RedisRecoveryStoreImpl.unavailable(giveUp, null));
        }
        inFlight.decrementAndGet();
        resume();
      });
    } catch (RejectedExecutionException e) {
      // The store is closing: its executor is gone with it.
      call.fail(RedisRecoveryStoreImpl.unavailable("closed", null));
      inFlight.decrementAndGet();
    }
  }

  private void resumeSoon() {
    try {
      executor.execute(this::resume);
    } catch (RejectedExecutionException e) {
      close();
    }
  }

  /**
   * Once nothing is in flight: reloads the scripts and sends the failed calls, then the queued
   * ones, in issue order. Runs on the executor.
   */
  private void resume() {
    List<Call<?>> resent;
    List<CompletionStage<List<Object>>> sent;
    synchronized (lock) {
      if (!reloading || inFlight.get() != 0) {
        return;
      }
      reloads++;
      if (closed) {
        reloading = false;
        return;
      }
      // Pipelined ahead of the calls on the same connection, so Redis has the scripts when it
      // runs them; no need to wait for the answers. A failed load shows as NOSCRIPT again.
      for (RecoveryScripts.Script s : scripts) {
        try {
          redis.scriptLoad(s.body).whenComplete((sha, e) -> {
            if (e != null) {
              log.warn("recovery store: reloading script {} failed: {}", s, e.toString());
            }
          });
        } catch (RuntimeException e) {
          log.warn("recovery store: reloading script {} failed: {}", s, e.toString());
        }
      }
      failed.sort(Comparator.comparingLong(c -> c.seq));
      resent = new ArrayList<>(failed.size() + queued.size());
      resent.addAll(failed);
      resent.addAll(queued);
      failed.clear();
      queued.clear();
      sent = new ArrayList<>(resent.size());
      for (Call<?> c : resent) {
        sent.add(send(c));
      }
      reloading = false;
    }
    log.info("recovery store: Redis had lost the scripts; reloaded them and sent {} calls again in order",
        resent.size());
    for (int i = 0; i < resent.size(); i++) {
      sent.get(i).whenComplete(resent.get(i));
    }
    flusher.flushSoon();
  }

  /** One call: what to send, and the caller's stage, completed from Redis's answer. */
  static final class Call<T> extends CompletableFuture<T> implements BiConsumer<List<Object>, Throwable> {
    private final ScriptCalls owner;
    final RecoveryScripts.Script script;
    final byte[][] keys;
    final byte[][] args;
    private final Function<List<Object>, T> decode;
    /** Issue order. */
    long seq;
    /** NOSCRIPT answers so far. */
    int attempts;

    Call(ScriptCalls owner, RecoveryScripts.Script script, byte[][] keys, byte[][] args,
        Function<List<Object>, T> decode) {
      this.owner = owner;
      this.script = script;
      this.keys = keys;
      this.args = args;
      this.decode = decode;
    }

    /** Redis's answer (Lettuce's callback). */
    @Override
    public void accept(List<Object> reply, Throwable error) {
      if (error != null && isNoScript(error)) {
        owner.noScript(this);
        return;
      }
      owner.answered();
      if (error != null) {
        completeExceptionally(RedisRecoveryStoreImpl.translate(error));
        return;
      }
      T result;
      try {
        result = decode.apply(reply);
      } catch (RuntimeException e) {
        // A reply of an unexpected shape: another program wrote our keys.
        completeExceptionally(RedisRecoveryStoreImpl.unavailable("unexpected reply from Redis: " + e, e));
        return;
      }
      complete(result);
    }

    void fail(Throwable error) {
      completeExceptionally(error);
    }

    private static boolean isNoScript(Throwable error) {
      Throwable cause = Failures.unwrap(error);
      return cause instanceof RedisNoScriptException
          || String.valueOf(cause.getMessage()).startsWith("NOSCRIPT");
    }
  }
}
