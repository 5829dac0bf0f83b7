package io.wsgateway.internal;

import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.SessionAppend;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.StoredMessage;
import io.wsgateway.recovery.TopicAppend;
import io.wsgateway.recovery.TopicBacklog;
import io.wsgateway.recovery.TopicPosition;
import io.wsgateway.recovery.UserAppend;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sessions grouped by user, and topic histories, in maps. Everything of one user is guarded by the
 * user's record, everything of one topic by the topic's: an append to all of a user's sessions is
 * one atomic step, as in the Redis store's scripts. Detached sessions and quiet topics expire lazily
 * (every operation that finds one past its time forgets it), and every {@value #SWEEP_EVERY}
 * creates and topic appends a sweep drops what nobody touched since.
 */
public final class InMemoryRecoveryStoreImpl implements RecoveryStore {

  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);
  private static final int SWEEP_EVERY = 1024;
  /** How many of a stream's newest messages a deduplicating append looks through. */
  static final int DEDUPE_WINDOW = 128;
  /** How long a topic's offset and epoch outlive its history, so a quiet topic keeps its numbering. */
  private static final Duration TOPIC_META_TTL = Duration.ofHours(24);

  private final Duration window;
  private final int maxMessages;
  private final long maxBytes;
  private final int maxSessionsPerUser;
  private final int topicMaxMessages;
  private final long topicMaxBytes;
  private final Duration topicHistoryTtl;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final String incarnation;
  private final Map<String, User> users = new ConcurrentHashMap<>();
  private final Map<String, Topic> topics = new ConcurrentHashMap<>();
  private int opsSinceSweep;

  /** A user's sessions, oldest first. Guarded by itself. */
  private static final class User {
    final LinkedHashMap<String, Session> sessions = new LinkedHashMap<>();
    /** Removed from the map (all sessions gone); an operation holding it starts a new record. */
    boolean gone;
  }

  private static final class Session {
    /** The live connection, or {@code null} while detached. */
    String owner;
    long seq;
    long epoch;
    /** The seq through which the history was lost (a restore after the store lost it), else 0. */
    long lostThrough;
    final ArrayDeque<StoredMessage> log = new ArrayDeque<>();
    long bytes;
    /** Epoch millis after which a detached session is forgotten; {@code Long.MAX_VALUE} while attached. */
    long expiresAt = Long.MAX_VALUE;
  }

  private static final class Topic {
    long offset;
    long epoch;
    final ArrayDeque<StoredMessage> log = new ArrayDeque<>();
    long bytes;
    long lastAppend;
    boolean gone;
  }

  public InMemoryRecoveryStoreImpl(Duration window, int maxMessages, long maxBytes, int maxSessionsPerUser,
      int topicMaxMessages, long topicMaxBytes, Duration topicHistoryTtl, Clock clock) {
    this.window = window;
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
    this.maxSessionsPerUser = maxSessionsPerUser;
    this.topicMaxMessages = topicMaxMessages;
    this.topicMaxBytes = topicMaxBytes;
    this.topicHistoryTtl = topicHistoryTtl;
    this.clock = clock;
    this.incarnation = Long.toHexString(random.nextLong());
  }

  // ---- sessions ----

  /** Runs {@code op} holding the user's record, creating it if needed. */
  private <T> T withUser(String userId, java.util.function.Function<User, T> op) {
    while (true) {
      User u = users.computeIfAbsent(userId, k -> new User());
      synchronized (u) {
        if (u.gone) {
          continue; // removed meanwhile by a sweep: take the new record
        }
        T result = op.apply(u);
        expire(u);
        if (u.sessions.isEmpty()) {
          u.gone = true;
          users.remove(userId, u);
        }
        return result;
      }
    }
  }

  /** Drops the user's detached sessions past their window. Hold the user's monitor. */
  private void expire(User u) {
    long now = clock.millis();
    u.sessions.values().removeIf(s -> s.expiresAt <= now);
  }

  /** The live session, after dropping expired ones. Hold the user's monitor. */
  private Session session(User u, String sessionId) {
    expire(u);
    return u.sessions.get(sessionId);
  }

  @Override
  public CompletionStage<SessionState> create(String userId, String sessionId, String owner) {
    SessionState state = withUser(userId, u -> {
      expire(u);
      Session s = new Session();
      s.owner = owner;
      s.epoch = newEpoch();
      u.sessions.remove(sessionId);
      u.sessions.put(sessionId, s);
      evictBeyondLimit(u);
      return new SessionState(true, 0, null, false, s.epoch);
    });
    maybeSweep();
    return CompletableFuture.completedFuture(state);
  }

  /** Evicts the oldest detached sessions while the user has more than the limit. Hold the monitor. */
  private void evictBeyondLimit(User u) {
    Iterator<Session> it = u.sessions.values().iterator();
    int excess = u.sessions.size() - maxSessionsPerUser;
    while (excess > 0 && it.hasNext()) {
      if (it.next().owner == null) {
        it.remove();
        excess--;
      }
    }
  }

  @Override
  public CompletionStage<SessionState> claim(String userId, String sessionId, String owner) {
    User existing = users.get(userId);
    if (existing == null) {
      return CompletableFuture.completedFuture(SessionState.unknown());
    }
    return CompletableFuture.completedFuture(withUser(userId, u -> {
      Session s = session(u, sessionId);
      if (s == null) {
        return SessionState.unknown();
      }
      String previous = s.owner;
      s.owner = owner;
      s.expiresAt = Long.MAX_VALUE;
      // Most recently used last: eviction takes the oldest first.
      u.sessions.remove(sessionId);
      u.sessions.put(sessionId, s);
      return new SessionState(true, s.seq, previous, previous != null, s.epoch);
    }));
  }

  @Override
  public CompletionStage<SessionState> restore(String userId, String sessionId, String owner, long lastSeq) {
    return CompletableFuture.completedFuture(withUser(userId, u -> {
      Session s = session(u, sessionId);
      if (s == null) {
        s = new Session();
        s.owner = owner;
        s.seq = lastSeq;
        s.lostThrough = lastSeq;
        s.epoch = newEpoch();
        u.sessions.put(sessionId, s);
        evictBeyondLimit(u);
      }
      return new SessionState(true, s.seq, null, false, s.epoch);
    }));
  }

  @Override
  public CompletionStage<Void> detach(String userId, String sessionId, String owner) {
    if (users.containsKey(userId)) {
      withUser(userId, u -> {
        Session s = session(u, sessionId);
        if (s != null && owner.equals(s.owner)) {
          s.owner = null;
          s.expiresAt = clock.millis() + window.toMillis();
        }
        return null;
      });
    }
    return DONE;
  }

  @Override
  public CompletionStage<UserAppend> appendToUser(String userId, String messageId, byte[] frame, boolean dedupe) {
    if (!users.containsKey(userId)) {
      return CompletableFuture.completedFuture(new UserAppend(List.of(), false));
    }
    return CompletableFuture.completedFuture(withUser(userId, u -> {
      expire(u);
      if (dedupe) {
        List<SessionAppend> earlier = new ArrayList<>();
        for (Map.Entry<String, Session> e : u.sessions.entrySet()) {
          long seq = find(e.getValue().log, e.getValue().seq, messageId);
          if (seq > 0) {
            earlier.add(new SessionAppend(e.getKey(), seq, e.getValue().owner, e.getValue().epoch));
          }
        }
        if (!earlier.isEmpty()) {
          return new UserAppend(earlier, true);
        }
      }
      List<SessionAppend> appended = new ArrayList<>(u.sessions.size());
      StoredMessage m = new StoredMessage(messageId, frame);
      for (Map.Entry<String, Session> e : u.sessions.entrySet()) {
        Session s = e.getValue();
        appended.add(new SessionAppend(e.getKey(), append(s, m), s.owner, s.epoch));
      }
      return new UserAppend(appended, false);
    }));
  }

  @Override
  public CompletionStage<SessionAppend> appendToSession(String userId, String sessionId, String messageId,
      byte[] frame) {
    if (!users.containsKey(userId)) {
      return CompletableFuture.completedFuture(null);
    }
    return CompletableFuture.completedFuture(withUser(userId, u -> {
      Session s = session(u, sessionId);
      if (s == null) {
        return null;
      }
      long seq = find(s.log, s.seq, messageId);
      if (seq == 0) {
        seq = append(s, new StoredMessage(messageId, frame));
      }
      return new SessionAppend(sessionId, seq, s.owner, s.epoch);
    }));
  }

  /** Appends to a session's log within its limits; returns the new seq. Hold the user's monitor. */
  private long append(Session s, StoredMessage m) {
    s.log.addLast(m);
    s.bytes += m.frame().length;
    while (s.log.size() > maxMessages || (s.bytes > maxBytes && s.log.size() > 1)) {
      s.bytes -= s.log.removeFirst().frame().length;
    }
    return ++s.seq;
  }

  /** The seq of {@code messageId} among the newest entries of a log ending at {@code lastSeq}, or 0. */
  private static long find(ArrayDeque<StoredMessage> log, long lastSeq, String messageId) {
    Iterator<StoredMessage> it = log.descendingIterator();
    long seq = lastSeq;
    for (int i = 0; i < DEDUPE_WINDOW && it.hasNext(); i++, seq--) {
      if (it.next().id().equals(messageId)) {
        return seq;
      }
    }
    return 0;
  }

  @Override
  public CompletionStage<Backlog> read(String userId, String sessionId, long afterSeq) {
    if (!users.containsKey(userId)) {
      return CompletableFuture.completedFuture(Backlog.broken(afterSeq, Backlog.Status.UNKNOWN));
    }
    return CompletableFuture.completedFuture(withUser(userId, u -> {
      Session s = session(u, sessionId);
      if (s == null) {
        return Backlog.broken(afterSeq, Backlog.Status.UNKNOWN);
      }
      if (afterSeq > s.seq) {
        return Backlog.broken(afterSeq, Backlog.Status.AHEAD);
      }
      if (afterSeq < s.lostThrough) {
        return Backlog.broken(afterSeq, Backlog.Status.LOST);
      }
      long first = s.seq - s.log.size() + 1;
      if (afterSeq + 1 < first) {
        return Backlog.broken(afterSeq, Backlog.Status.TRIMMED);
      }
      return new Backlog(afterSeq + 1, tail(s.log, first, afterSeq), Backlog.Status.COMPLETE);
    }));
  }

  /** The entries after {@code after} of a log whose first entry is number {@code first}. */
  private static List<StoredMessage> tail(ArrayDeque<StoredMessage> log, long first, long after) {
    List<StoredMessage> out = new ArrayList<>((int) Math.max(0, first + log.size() - 1 - after));
    long n = first;
    for (StoredMessage m : log) {
      if (n++ > after) {
        out.add(m);
      }
    }
    return out;
  }

  // ---- topics ----

  private <T> T withTopic(String topic, boolean create, java.util.function.Function<Topic, T> op) {
    while (true) {
      Topic t = create ? topics.computeIfAbsent(topic, k -> new Topic()) : topics.get(topic);
      if (t == null) {
        return op.apply(null);
      }
      synchronized (t) {
        if (t.gone) {
          continue;
        }
        long now = clock.millis();
        if (t.epoch != 0 && now - t.lastAppend >= TOPIC_META_TTL.toMillis()) {
          t.gone = true;
          topics.remove(topic, t);
          continue;
        }
        if (t.epoch != 0 && now - t.lastAppend >= topicHistoryTtl.toMillis()) {
          t.log.clear();
          t.bytes = 0;
        }
        return op.apply(t);
      }
    }
  }

  @Override
  public CompletionStage<TopicAppend> appendToTopic(String topic, String messageId, byte[] frame, boolean dedupe) {
    TopicAppend result = withTopic(topic, true, t -> {
      if (dedupe) {
        long earlier = find(t.log, t.offset, messageId);
        if (earlier > 0) {
          return new TopicAppend(earlier, t.epoch, true);
        }
      }
      if (t.epoch == 0) {
        t.epoch = newEpoch();
      }
      t.lastAppend = clock.millis();
      t.log.addLast(new StoredMessage(messageId, frame));
      t.bytes += frame.length;
      while (t.log.size() > topicMaxMessages || (t.bytes > topicMaxBytes && t.log.size() > 1)) {
        t.bytes -= t.log.removeFirst().frame().length;
      }
      return new TopicAppend(++t.offset, t.epoch, false);
    });
    maybeSweep();
    return CompletableFuture.completedFuture(result);
  }

  @Override
  public CompletionStage<TopicPosition> topicPosition(String topic) {
    TopicPosition position = withTopic(topic, true, t -> {
      if (t.epoch == 0) {
        t.epoch = newEpoch();
        t.lastAppend = clock.millis();
      }
      return new TopicPosition(t.offset, t.epoch);
    });
    maybeSweep();
    return CompletableFuture.completedFuture(position);
  }

  @Override
  public CompletionStage<TopicBacklog> readTopic(String topic, long afterOffset) {
    return CompletableFuture.completedFuture(withTopic(topic, false, t -> {
      if (t == null || t.epoch == 0) {
        return new TopicBacklog(0, afterOffset + 1, List.of(), afterOffset > 0);
      }
      long first = t.offset - t.log.size() + 1;
      if (afterOffset > t.offset || afterOffset + 1 < first) {
        return new TopicBacklog(t.epoch, afterOffset + 1, List.of(), true);
      }
      return new TopicBacklog(t.epoch, afterOffset + 1, tail(t.log, first, afterOffset), false);
    }));
  }

  // ---- the store ----

  @Override
  public CompletionStage<String> incarnation() {
    return CompletableFuture.completedFuture(incarnation);
  }

  /** A random epoch, never 0 (which means "none"). */
  private long newEpoch() {
    long e;
    synchronized (random) {
      e = random.nextLong() & Long.MAX_VALUE;
    }
    return e == 0 ? 1 : e;
  }

  private void maybeSweep() {
    boolean sweep;
    synchronized (this) {
      sweep = ++opsSinceSweep >= SWEEP_EVERY;
      if (sweep) {
        opsSinceSweep = 0;
      }
    }
    if (!sweep) {
      return;
    }
    for (String userId : users.keySet()) {
      User u = users.get(userId);
      if (u != null) {
        synchronized (u) {
          expire(u);
          if (u.sessions.isEmpty() && !u.gone) {
            u.gone = true;
            users.remove(userId, u);
          }
        }
      }
    }
    long now = clock.millis();
    for (Map.Entry<String, Topic> e : topics.entrySet()) {
      Topic t = e.getValue();
      synchronized (t) {
        if (!t.gone && t.epoch != 0 && now - t.lastAppend >= TOPIC_META_TTL.toMillis()) {
          t.gone = true;
          topics.remove(e.getKey(), t);
        } else if (!t.gone && now - t.lastAppend >= topicHistoryTtl.toMillis()) {
          t.log.clear();
          t.bytes = 0;
        }
      }
    }
  }
}
