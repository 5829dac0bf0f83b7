package io.wsgateway.netty.internal;

import io.netty.util.concurrent.ScheduledFuture;
import io.wsgateway.recovery.AppendResult;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.registry.RegisteredConnection;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session whose connection closed, kept for the recovery window: it stays registered and
 * subscribed, and appends what it receives to the recovery store, so the client finds it there when
 * it resumes, here or elsewhere. Once another connection claims the session, it stops being routable
 * here, and for a short grace period what is still in flight to this instance is forwarded to the new
 * owner (which drops copies it already has) before the detached session ends.
 */
final class DetachedSession implements SessionSink {

  private static final Logger log = LoggerFactory.getLogger(DetachedSession.class);

  private final GatewayImpl gateway;
  private final RecoveryStore store;
  private final String sessionId;
  private final String userId;
  private final String owner;
  private final RegisteredConnection registration;
  private final Set<String> subscriptions;
  /**
   * The closed connection's event loop: appends go through it, after whatever that connection still
   * had queued, so one sender's messages keep their order across the disconnect.
   */
  private final java.util.concurrent.Executor executor;
  private final AtomicBoolean ended = new AtomicBoolean();
  private final AtomicBoolean moved = new AtomicBoolean();
  /** The owner that resumed the session, once it did: deliveries are forwarded there. */
  private volatile String newOwner;
  private volatile ScheduledFuture<?> expiry;
  /** The latest append (or forward) issued, on {@link #executor}; they complete in issue order. */
  private CompletionStage<Void> tail = CompletableFuture.completedFuture(null);

  /** The recent ids of the connection this session replaces: a message kept by either is kept once. */
  private final RecentIds recent;

  DetachedSession(GatewayImpl gateway, RecoveryStore store, String sessionId, String userId, String owner,
      RegisteredConnection registration, Set<String> subscriptions, java.util.concurrent.Executor executor,
      RecentIds recent) {
    this.gateway = gateway;
    this.recent = recent != null ? recent : new RecentIds();
    this.store = store;
    this.sessionId = sessionId;
    this.userId = userId;
    this.owner = owner;
    this.registration = registration;
    this.subscriptions = ConcurrentHashMap.newKeySet();
    this.subscriptions.addAll(subscriptions);
    this.executor = executor;
  }

  void expireAfter(ScheduledFuture<?> timer) {
    this.expiry = timer;
  }

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public String userId() {
    return userId;
  }

  @Override
  public Set<String> liveSubscriptions() {
    return subscriptions;
  }

  RegisteredConnection registration() {
    return registration;
  }

  String owner() {
    return owner;
  }

  @Override
  public CompletionStage<Void> deliver(String messageId, byte[] prefix) {
    CompletableFuture<Void> safe = new CompletableFuture<>();
    try {
      executor.execute(() -> {
        CompletionStage<Void> kept = keep(messageId, prefix);
        tail = kept;
        kept.whenComplete((v, e) -> safe.complete(null));
      });
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      keep(messageId, prefix).whenComplete((v, e) -> safe.complete(null));
    }
    return safe;
  }

  private CompletionStage<Void> keep(String messageId, byte[] prefix) {
    if (!recent.firstTime(messageId)) {
      // The closing connection kept it already, or it arrived twice.
      return CompletableFuture.completedFuture(null);
    }
    String forwardTo = newOwner;
    log.debug("detached session {}: message {} ({})", sessionId, messageId, forwardTo == null ? "append" : "forward to " + forwardTo);
    if (forwardTo != null) {
      return gateway.forwardToSession(forwardTo, sessionId, messageId, prefix);
    }
    return store.append(sessionId, owner, messageId, prefix).thenCompose(result -> {
      if (!result.appended()) {
        return onNotOwner(result, messageId, prefix);
      }
      return CompletableFuture.<Void>completedFuture(null);
    }).exceptionally(error -> {
      log.warn("session {}: message {} not kept for recovery: {}", sessionId, messageId, error.toString());
      return null;
    });
  }

  private CompletionStage<Void> onNotOwner(AppendResult result, String messageId, byte[] prefix) {
    if (result.owner() == null) {
      end();
      return CompletableFuture.completedFuture(null);
    }
    movedTo(result.owner());
    return gateway.forwardToSession(result.owner(), sessionId, messageId, prefix);
  }

  /**
   * The session was resumed by {@code owner} (an {@code instanceId/connectionId}, or just the instance
   * id): stop being routable here, forward what is still in flight, end after the grace period.
   */
  void movedTo(String owner) {
    newOwner = owner;
    if (moved.compareAndSet(false, true)) {
      gateway.onDetachedMoved(this);
    }
  }

  /**
   * Runs {@code done} once every message this session had taken before now is in the store or
   * forwarded to the new owner: the new owner waits for it so one sender's messages stay in order.
   */
  void handOver(Runnable done) {
    try {
      executor.execute(() -> tail.whenComplete((v, e) -> done.run()));
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      tail.whenComplete((v, e) -> done.run());
    }
  }

  /** Stops receiving for the session here: unsubscribes, unregisters, forgets it. Idempotent. */
  void end() {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    ScheduledFuture<?> timer = expiry;
    if (timer != null) {
      timer.cancel(false);
    }
    gateway.onDetachedEnded(this);
  }
}
