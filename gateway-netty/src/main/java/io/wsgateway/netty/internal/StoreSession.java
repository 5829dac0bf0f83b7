package io.wsgateway.netty.internal;

import io.netty.channel.EventLoop;
import io.wsgateway.CloseCodes;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.StoredMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A live connection's session in the recovery store: opens it (new, or resumed with its backlog),
 * writes its direct messages in {@code seq} order as the store numbered them ({@link Resequencer}),
 * restores it after the store lost it, and detaches it when the connection closes.
 *
 * <p>The store numbers every direct message before any connection sees it, so a resumed session
 * needs no hand-over from the instance that served it before: what was appended before the claim is
 * in the backlog read after it, what is appended after the claim is notified here, and a number
 * seen twice is dropped. Confined to the connection's event loop, except {@link #deliver}.
 */
final class StoreSession implements Resequencer.Source, Resequencer.Sink {

  private static final Logger log = LoggerFactory.getLogger(StoreSession.class);

  private final GatewayImpl gateway;
  private final RecoveryStore store;
  private final ConnectionHandler connection;
  private final EventLoop loop;
  private final String userId;
  private final String owner;
  private final Resequencer stream;
  /** Read by other threads through {@link ConnectionHandler#sessionId()}. */
  private volatile String sessionId;
  /** The stream's epoch; 0 until the store answered the create or claim. */
  private long epoch;
  /** Whether the store holds the session as this connection's (created or claimed, not yet detached). */
  private boolean open;
  /** Notifications that arrived before the epoch was known; sorted out once it is. */
  private List<Notification> early;

  private record Notification(long seq, long epoch, String messageId, byte[] prefix) {}

  StoreSession(GatewayImpl gateway, ConnectionHandler connection, String sessionId) {
    this.gateway = gateway;
    this.store = gateway.recovery();
    this.connection = connection;
    this.loop = connection.channel().eventLoop();
    this.userId = connection.userId();
    this.owner = connection.owner();
    this.sessionId = sessionId;
    this.stream = new Resequencer(loop, this, this);
  }

  String sessionId() {
    return sessionId;
  }

  boolean isOpen() {
    return open;
  }

  /**
   * Opens the session: resumes {@code resumeSession} after {@code lastSeq} when the store has it for
   * this user, else creates a new one. The connection's welcome says which, then the backlog and the
   * live messages follow.
   */
  void open(String resumeSession, long lastSeq) {
    if (resumeSession == null) {
      create(null, null);
      return;
    }
    claim(resumeSession, lastSeq, 0);
  }

  /**
   * Delays before the second and third try of a claim or backlog read that failed: a resume is
   * worth a moment's wait (a Redis busy with a reconnect storm), since giving up costs the client
   * its history. Both are idempotent.
   */
  private static final long[] RETRY_MILLIS = {200, 800};

  private void claim(String resumeSession, long lastSeq, int tried) {
    store.claim(userId, resumeSession, owner).whenComplete((state, error) -> loop.execute(() -> {
      if (error != null && tried < RETRY_MILLIS.length && !connection.isClosing()) {
        loop.schedule(() -> claim(resumeSession, lastSeq, tried + 1), RETRY_MILLIS[tried], TimeUnit.MILLISECONDS);
      } else if (error != null) {
        log.warn("connection {}: resume of {} failed: {}", connection.id(), resumeSession, error.toString());
        create(resumeSession, "store_unavailable");
      } else if (!state.known()) {
        create(resumeSession, "unknown_session");
      } else if (connection.isClosing()) {
        store.detach(userId, resumeSession, owner);
      } else if (lastSeq > state.lastSeq()) {
        store.detach(userId, resumeSession, owner);
        create(resumeSession, "invalid_last_seq");
      } else {
        resume(resumeSession, lastSeq, state);
      }
    }));
  }

  /**
   * Continues a claimed session. Claimed first, routed here second: until the claim succeeded this
   * connection received nothing of the session, so a guessed id of another user's session gets
   * nothing at all.
   */
  private void resume(String resumed, long lastSeq, SessionState state) {
    sessionId = resumed;
    epoch = state.epoch();
    open = true;
    gateway.onSessionOpened(sessionId, connection);
    if (state.attached() && state.previousOwner() != null && !state.previousOwner().equals(owner)) {
      // The client came back while its old connection still looks open (a half-open socket).
      gateway.takeOver(state.previousOwner(), sessionId);
    }
    readBacklog(lastSeq, 0);
  }

  private void readBacklog(long lastSeq, int tried) {
    store.read(userId, sessionId, lastSeq).whenComplete((backlog, error) -> loop.execute(() -> {
      if (connection.isClosing()) {
        return;
      }
      if (error != null && tried < RETRY_MILLIS.length) {
        loop.schedule(() -> readBacklog(lastSeq, tried + 1), RETRY_MILLIS[tried], TimeUnit.MILLISECONDS);
        return;
      }
      if (error != null) {
        abandon("store_unavailable");
        return;
      }
      switch (backlog.status()) {
        case COMPLETE -> {
          connection.welcome(Boolean.TRUE, null);
          long seq = backlog.firstSeq();
          for (StoredMessage m : backlog.messages()) {
            stream.offer(seq++, m.id(), m.frame());
          }
          sortEarly();
          stream.start(lastSeq + 1);
        }
        case TRIMMED -> abandon("trimmed");
        case LOST -> abandon("history_lost");
        case AHEAD -> abandon("invalid_last_seq");
        default -> abandon("unknown_session");
      }
    }));
  }

  /** The claimed session cannot be continued: let it expire, and start a new one instead. */
  private void abandon(String reason) {
    String abandoned = sessionId;
    gateway.onSessionClosed(abandoned, connection);
    store.detach(userId, abandoned, owner);
    open = false;
    epoch = 0;
    early = null;
    create(abandoned, reason);
  }

  /**
   * Creates a new session; a failed resume of {@code resumeSession} says why ({@code reason}) in the
   * welcome. Routable here before the store answers: appends that follow the create in the store
   * are notified at once, and held until the welcome.
   */
  private void create(String resumeSession, String reason) {
    if (resumeSession != null) {
      sessionId = Ids.secret();
    }
    gateway.onSessionOpened(sessionId, connection);
    store.create(userId, sessionId, owner).whenComplete((state, error) -> loop.execute(() -> {
      if (error != null) {
        log.warn("connection {}: session not created, recovery store failed: {}", connection.id(), error.toString());
        gateway.onSessionClosed(sessionId, connection);
        connection.closeWith(CloseCodes.TRY_AGAIN_LATER, CloseCodes.REASON_STORE_UNAVAILABLE, false);
        return;
      }
      epoch = state.epoch();
      open = true;
      if (connection.isClosing()) {
        detach();
        return;
      }
      connection.welcome(resumeSession == null ? null : Boolean.FALSE, reason);
      sortEarly();
      stream.start(1);
    }));
  }

  /** A direct message the store appended to this session; from any thread. */
  void deliver(long seq, long messageEpoch, String messageId, byte[] prefix) {
    if (loop.inEventLoop()) {
      offer(seq, messageEpoch, messageId, prefix);
    } else {
      loop.execute(() -> offer(seq, messageEpoch, messageId, prefix));
    }
  }

  private void offer(long seq, long messageEpoch, String messageId, byte[] prefix) {
    if (connection.isClosing()) {
      return; // the store keeps it; the client reads it when it resumes
    }
    if (epoch == 0) {
      if (early == null) {
        early = new ArrayList<>();
      }
      if (early.size() >= Resequencer.MAX_HELD) {
        overflow(); // the store has not answered the create or claim for long: reconnect later
        return;
      }
      early.add(new Notification(seq, messageEpoch, messageId, prefix));
      return;
    }
    if (messageEpoch == epoch) {
      stream.offer(seq, messageId, prefix);
    } else {
      reappend(messageId, prefix);
    }
  }

  /** Notifications that came before the epoch was known: this epoch's go into the stream. */
  private void sortEarly() {
    List<Notification> waiting = early;
    early = null;
    if (waiting != null) {
      for (Notification n : waiting) {
        offer(n.seq(), n.epoch(), n.messageId(), n.prefix());
      }
    }
  }

  /**
   * A message of an epoch the store has since lost: it was appended (and acknowledged to its sender)
   * before the loss, so it is appended again, to this epoch, rather than dropped.
   */
  private void reappend(String messageId, byte[] prefix) {
    store.appendToSession(userId, sessionId, messageId, prefix).whenComplete((a, error) -> loop.execute(() -> {
      if (error != null || a == null) {
        log.warn("session {}: message {} of a lost epoch not kept: {}", sessionId, messageId,
            error != null ? error.toString() : "session unknown");
        return;
      }
      if (a.epoch() == epoch) {
        stream.offer(a.seq(), messageId, prefix);
      }
    }));
  }

  /**
   * The store lost its data (see {@link RecoveryStore#incarnation()}): re-creates this session from
   * the connection, which has every message up to the last one written; the stream goes on in a new
   * epoch. What was held behind a gap belongs to the lost epoch and is appended again.
   */
  void restore() {
    if (!open || connection.isClosing()) {
      return;
    }
    long lastWritten = stream.started() ? stream.next() - 1 : 0;
    store.restore(userId, sessionId, owner, lastWritten).whenComplete((state, error) -> loop.execute(() -> {
      if (error != null) {
        log.warn("session {}: not restored after the store's loss: {}", sessionId, error.toString());
        return;
      }
      if (state.epoch() == epoch || connection.isClosing()) {
        return;
      }
      log.info("session {}: restored in the recovery store at seq {} after it lost its data", sessionId,
          state.lastSeq());
      epoch = state.epoch();
      List<Resequencer.Pending> lost = stream.restart(state.lastSeq() + 1);
      for (Resequencer.Pending p : lost) {
        reappend(p.messageId(), p.prefix());
      }
    }));
  }

  /** The connection closed: the store keeps the session for the recovery window. */
  void detach() {
    if (open) {
      open = false;
      gateway.onSessionClosed(sessionId, connection);
      gateway.detachStarted();
      store.detach(userId, sessionId, owner).whenComplete((v, e) -> {
        gateway.detachDone();
        if (e != null) {
          log.debug("session {}: detach failed: {}", sessionId, e.toString());
        }
      });
    }
    stream.close();
  }

  // ---- Resequencer.Source and Sink ----

  @Override
  public CompletionStage<Resequencer.Fill> readAfter(long after) {
    String id = sessionId;
    return store.read(userId, id, after).thenApply(b -> switch (b.status()) {
      case COMPLETE -> new Resequencer.Fill(b.firstSeq(), b.messages(), null);
      case TRIMMED -> new Resequencer.Fill(b.firstSeq(), List.of(), "trimmed");
      default -> new Resequencer.Fill(b.firstSeq(), List.of(), "history_lost");
    });
  }

  @Override
  public void write(long seq, String messageId, byte[] prefix) {
    connection.writeSessionMessage(seq, prefix);
  }

  @Override
  public void gap(long next, String reason) {
    log.info("session {}: messages before seq {} lost ({})", sessionId, next, reason);
    connection.writeText(Protocol.sessionGap(reason, next), "gap");
  }

  @Override
  public void overflow() {
    connection.closeWith(CloseCodes.TRY_AGAIN_LATER, CloseCodes.REASON_STORE_UNAVAILABLE, false);
  }
}
