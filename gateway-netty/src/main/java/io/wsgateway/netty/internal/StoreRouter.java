package io.wsgateway.netty.internal;

import io.netty.channel.EventLoopGroup;
import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.BrokerException;
import io.wsgateway.broker.Envelope;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.SessionAppend;
import io.wsgateway.recovery.TopicAppend;
import io.wsgateway.recovery.UserAppend;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routing with a recovery store: every direct message and publication is appended to the store
 * first, where its number and so its order are decided, and delivered second.
 *
 * <ul>
 *   <li>A direct message is appended to all of its user's resumable sessions in one step; each live
 *       session's connection is then told, here or through its instance's inbox, which writes it in
 *       seq order. A detached session needs nothing more: its client reads the message on resume.
 *   <li>A publication is appended to its topic's history, then broadcast with its offset; each
 *       subscriber writes publications in offset order.
 * </ul>
 *
 * <p>An acknowledgement therefore means "stored, and handed to every live connection's instance".
 * One source's appends are issued in the order it sent them and dispatched in that order ({@link
 * SendOrder}), so its messages reach each recipient in order, across instances and restarts: the
 * store's numbers carry the order, not the paths the notifications take. A notification that never
 * arrives (its sender's instance died after the append) leaves a gap that the connection fills from
 * the store.
 *
 * <p>Also watches the store's incarnation: when it changed (the store lost its data), live sessions
 * are restored from their connections.
 */
final class StoreRouter {

  private static final Logger log = LoggerFactory.getLogger(StoreRouter.class);
  /** How often the store's incarnation is compared, to notice that it lost its data. */
  static final long INCARNATION_CHECK_MILLIS = 1_000;

  private final GatewayImpl gateway;
  private final RecoveryStore store;
  private final String instanceId;
  /** The incarnation last seen; written by the watcher only. */
  private volatile String incarnation;

  StoreRouter(GatewayImpl gateway, RecoveryStore store, String instanceId) {
    this.gateway = gateway;
    this.store = store;
    this.instanceId = instanceId;
  }

  // ---- direct messages ----

  /**
   * Appends a direct message to {@code toUser}'s sessions, then notifies their live connections.
   *
   * @param dedupe whether the message may be a redelivery ({@code messageId} from a backend)
   * @return completes when stored and handed to every live connection's instance; fails with {@code
   *     user_offline} when the user has no resumable session, {@code store_unavailable} or {@code
   *     broker_unavailable}
   */
  CompletionStage<Void> sendToUser(String toUser, String fromUser, byte[] data, String messageId, SendOrder order,
      boolean dedupe) {
    byte[] prefix = Protocol.messagePrefix(fromUser, null, data);
    CompletableFuture<UserAppend> appended;
    try {
      appended = store.appendToUser(toUser, messageId, prefix, dedupe).toCompletableFuture();
    } catch (RuntimeException e) {
      appended = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Void> routed = new CompletableFuture<>();
    BiConsumer<UserAppend, Throwable> notify = (result, error) -> {
      if (error != null) {
        routed.completeExceptionally(storeFailure(error));
      } else if (result.sessions().isEmpty()) {
        routed.completeExceptionally(new GatewayException(ErrorCodes.USER_OFFLINE, "user " + toUser + " is offline"));
      } else {
        complete(routed, notifyOwners(messageId, prefix, result));
      }
    };
    then(order, appended, notify);
    return routed;
  }

  /** Hands an appended message to each live session's connection: here, or its instance's inbox. */
  private CompletableFuture<Void> notifyOwners(String messageId, byte[] prefix, UserAppend result) {
    List<CompletableFuture<Void>> sends = null;
    for (SessionAppend a : result.sessions()) {
      String owner = a.owner();
      if (owner == null) {
        continue; // detached: the client reads it when it resumes
      }
      String instance = instanceOf(owner);
      if (instance.equals(instanceId)) {
        ConnectionHandler c = gateway.sessionConnection(a.sessionId(), owner);
        if (c != null) {
          c.deliverSequenced(a.seq(), a.epoch(), messageId, prefix);
        }
        continue;
      }
      BrokerEndpoint endpoint = gateway.endpoint();
      CompletableFuture<Void> sent = endpoint.sendToInstance(instance,
              Envelope.toSession(messageId, a.sessionId(), owner, a.seq(), a.epoch(), prefix, instanceId))
          .toCompletableFuture()
          .exceptionally(e -> {
            Throwable cause = unwrap(e);
            if (cause instanceof BrokerException be && be.reason() == BrokerException.Reason.NO_ROUTE) {
              // The instance is gone, inbox and all: its client resumes elsewhere and reads the store.
              return null;
            }
            throw GatewayImpl.brokerFailure(cause);
          });
      if (sends == null) {
        sends = new ArrayList<>(2);
      }
      sends.add(sent);
    }
    return sends == null ? GatewayImpl.DONE : CompletableFuture.allOf(sends.toArray(new CompletableFuture<?>[0]));
  }

  // ---- publications ----

  /**
   * Appends a publication to its topic's history, then broadcasts it with its offset to the
   * instances that subscribe.
   *
   * @return completes when stored and accepted by the broker
   */
  CompletionStage<Void> publish(String topic, String fromUser, byte[] data, String messageId, SendOrder order,
      boolean dedupe) {
    byte[] prefix = Protocol.topicPrefix(fromUser, topic, data, true);
    CompletableFuture<TopicAppend> appended;
    try {
      appended = store.appendToTopic(topic, messageId, prefix, dedupe).toCompletableFuture();
    } catch (RuntimeException e) {
      appended = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Void> routed = new CompletableFuture<>();
    BiConsumer<TopicAppend, Throwable> broadcast = (a, error) -> {
      if (error != null) {
        routed.completeExceptionally(storeFailure(error));
        return;
      }
      Envelope envelope = Envelope.toTopic(messageId, topic, fromUser, data, instanceId, a.offset(), a.epoch());
      complete(routed, gateway.endpoint().publish(topic, envelope).toCompletableFuture().exceptionally(e -> {
        throw GatewayImpl.brokerFailure(unwrap(e));
      }));
    };
    then(order, appended, broadcast);
    return routed;
  }

  // ---- the store's incarnation ----

  /** Starts comparing the store's incarnation now and then; a change restores the live sessions. */
  void watch(EventLoopGroup group) {
    group.scheduleWithFixedDelay(this::checkIncarnation, INCARNATION_CHECK_MILLIS, INCARNATION_CHECK_MILLIS,
        TimeUnit.MILLISECONDS);
    store.incarnation().whenComplete((i, e) -> {
      if (i != null && incarnation == null) {
        incarnation = i;
      }
    });
  }

  private void checkIncarnation() {
    store.incarnation().whenComplete((now, e) -> {
      if (now == null) {
        return; // unreachable: nothing to compare until it answers again
      }
      String before = incarnation;
      incarnation = now;
      if (before != null && !before.equals(now)) {
        log.warn("gateway {}: the recovery store lost its data (incarnation {} -> {}); restoring {} live session(s)",
            instanceId, before, now, gateway.connectionCount());
        gateway.restoreSessions();
      }
    });
  }

  // ---- plumbing ----

  private static <T> void then(SendOrder order, CompletableFuture<T> step, BiConsumer<T, Throwable> next) {
    if (order != null) {
      order.then(step, next);
    } else {
      step.whenComplete((v, e) -> next.accept(v, e == null ? null : unwrap(e)));
    }
  }

  private static void complete(CompletableFuture<Void> routed, CompletableFuture<Void> step) {
    step.whenComplete((v, e) -> {
      if (e == null) {
        routed.complete(null);
      } else {
        routed.completeExceptionally(unwrap(e));
      }
    });
  }

  private static GatewayException storeFailure(Throwable error) {
    Throwable cause = unwrap(error);
    if (cause instanceof GatewayException ge && ErrorCodes.STORE_UNAVAILABLE.equals(ge.code())) {
      return ge;
    }
    return new GatewayException(ErrorCodes.STORE_UNAVAILABLE,
        "the recovery store did not take the message: " + cause.getMessage(), cause);
  }

  static String instanceOf(String owner) {
    int slash = owner.lastIndexOf('/');
    return slash < 0 ? owner : owner.substring(0, slash);
  }

  private static Throwable unwrap(Throwable error) {
    return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
  }
}
