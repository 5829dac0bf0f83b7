package io.wsgateway.internal;

import io.wsgateway.recovery.AppendResult;
import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.StoredMessage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sessions in a map; each session's record is guarded by its own monitor. Detached sessions expire
 * lazily: every operation that finds one past its deadline forgets it, and {@link #create} sweeps
 * now and then so abandoned sessions do not pile up.
 *
 * <p>Expiry is decided and the record marked {@code gone} only under the record's monitor, and every
 * operation checks it there: otherwise a claim could revive a record that a concurrent sweep is
 * removing, and report a session that the next call no longer finds.
 */
public final class InMemoryRecoveryStoreImpl implements RecoveryStore {

  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);
  private static final int SWEEP_EVERY_CREATES = 1024;

  private final Duration window;
  private final int maxMessages;
  private final Clock clock;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  /** Session ids by user; entries go when their session is found gone. */
  private final Map<String, Set<String>> byUser = new ConcurrentHashMap<>();
  private int createsSinceSweep;

  private static final class Session {
    final String userId;
    String owner;
    long seq;
    final ArrayDeque<StoredMessage> log = new ArrayDeque<>();
    Set<String> subscriptions = Set.of();
    /** Epoch millis after which a detached session is forgotten; {@code Long.MAX_VALUE} while attached. */
    long expiresAt = Long.MAX_VALUE;
    /** Removed from the map (expired or replaced by a create); operations holding it treat it as absent. */
    boolean gone;

    Session(String userId, String owner) {
      this.userId = userId;
      this.owner = owner;
    }
  }

  public InMemoryRecoveryStoreImpl(Duration window, int maxMessages, Clock clock) {
    this.window = window;
    this.maxMessages = maxMessages;
    this.clock = clock;
  }

  /** Whether {@code s} is still the live record of {@code sessionId}; forgets it if expired. Hold its monitor. */
  private boolean alive(String sessionId, Session s) {
    if (s.gone) {
      return false;
    }
    if (s.expiresAt <= clock.millis()) {
      s.gone = true;
      sessions.remove(sessionId, s);
      return false;
    }
    return true;
  }

  @Override
  public CompletionStage<Void> create(String sessionId, String userId, String owner) {
    Session old = sessions.put(sessionId, new Session(userId, owner));
    byUser.compute(userId, (u, set) -> {
      // Inside compute: atomic with sessionsOf dropping an empty set.
      Set<String> ids = set != null ? set : ConcurrentHashMap.newKeySet();
      ids.add(sessionId);
      return ids;
    });
    if (old != null) {
      synchronized (old) {
        old.gone = true;
      }
    }
    boolean sweep;
    synchronized (this) {
      sweep = ++createsSinceSweep >= SWEEP_EVERY_CREATES;
      if (sweep) {
        createsSinceSweep = 0;
      }
    }
    if (sweep) {
      for (Map.Entry<String, Session> e : sessions.entrySet()) {
        synchronized (e.getValue()) {
          alive(e.getKey(), e.getValue());
        }
      }
      for (String user : byUser.keySet()) {
        sessionsOf(user);
      }
    }
    return DONE;
  }

  @Override
  public CompletionStage<SessionState> claim(String sessionId, String userId, String owner) {
    Session s = sessions.get(sessionId);
    if (s == null || !s.userId.equals(userId)) {
      return CompletableFuture.completedFuture(SessionState.unknown());
    }
    synchronized (s) {
      if (!alive(sessionId, s)) {
        return CompletableFuture.completedFuture(SessionState.unknown());
      }
      String previous = s.owner;
      s.owner = owner;
      s.expiresAt = Long.MAX_VALUE;
      return CompletableFuture.completedFuture(new SessionState(true, s.seq, s.subscriptions, previous));
    }
  }

  @Override
  public CompletionStage<AppendResult> append(String sessionId, String owner, String messageId, byte[] message) {
    Session s = sessions.get(sessionId);
    if (s == null) {
      return CompletableFuture.completedFuture(AppendResult.notOwner(null));
    }
    synchronized (s) {
      if (!alive(sessionId, s)) {
        return CompletableFuture.completedFuture(AppendResult.notOwner(null));
      }
      if (!s.owner.equals(owner)) {
        return CompletableFuture.completedFuture(AppendResult.notOwner(s.owner));
      }
      s.log.addLast(new StoredMessage(messageId, message));
      if (s.log.size() > maxMessages) {
        s.log.removeFirst();
      }
      return CompletableFuture.completedFuture(AppendResult.appended(++s.seq));
    }
  }

  @Override
  public CompletionStage<Backlog> read(String sessionId, long afterSeq) {
    Session s = sessions.get(sessionId);
    if (s == null) {
      return CompletableFuture.completedFuture(new Backlog(afterSeq + 1, List.of(), true));
    }
    synchronized (s) {
      if (!alive(sessionId, s)) {
        return CompletableFuture.completedFuture(new Backlog(afterSeq + 1, List.of(), true));
      }
      long first = s.seq - s.log.size() + 1;
      if (afterSeq + 1 < first) {
        return CompletableFuture.completedFuture(new Backlog(afterSeq + 1, List.of(), true));
      }
      List<StoredMessage> out = new ArrayList<>();
      long seq = first;
      for (StoredMessage m : s.log) {
        if (seq > afterSeq) {
          out.add(m);
        }
        seq++;
      }
      return CompletableFuture.completedFuture(new Backlog(afterSeq + 1, out, false));
    }
  }

  @Override
  public CompletionStage<Map<String, String>> sessionsOf(String userId) {
    Set<String> ids = byUser.get(userId);
    if (ids == null) {
      return CompletableFuture.completedFuture(Map.of());
    }
    Map<String, String> owners = new java.util.HashMap<>();
    for (String id : ids) {
      Session s = sessions.get(id);
      String owner = null;
      if (s != null) {
        synchronized (s) {
          if (alive(id, s) && s.userId.equals(userId)) {
            owner = s.owner;
          }
        }
      }
      if (owner != null) {
        owners.put(id, owner);
      } else {
        ids.remove(id);
      }
    }
    byUser.computeIfPresent(userId, (u, set) -> set.isEmpty() ? null : set);
    return CompletableFuture.completedFuture(owners);
  }

  @Override
  public CompletionStage<Void> subscriptions(String sessionId, String owner, Set<String> topics) {
    Session s = sessions.get(sessionId);
    if (s != null) {
      synchronized (s) {
        if (alive(sessionId, s) && s.owner.equals(owner)) {
          s.subscriptions = Set.copyOf(topics);
        }
      }
    }
    return DONE;
  }

  @Override
  public CompletionStage<Void> detach(String sessionId, String owner) {
    Session s = sessions.get(sessionId);
    if (s != null) {
      synchronized (s) {
        if (alive(sessionId, s) && s.owner.equals(owner)) {
          s.expiresAt = clock.millis() + window.toMillis();
        }
      }
    }
    return DONE;
  }
}
