package io.wsgateway.client;

import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.SessionAppend;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.TopicAppend;
import io.wsgateway.recovery.TopicBacklog;
import io.wsgateway.recovery.TopicPosition;
import io.wsgateway.recovery.UserAppend;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real recovery store (in memory) with faults a test switches on: session creates that fail, as
 * when the store is unreachable, and direct messages whose delivery notification is lost after the
 * append, as when the routing instance dies between the two steps. Everything else is the store's.
 */
final class FaultyStore implements RecoveryStore {

  private final RecoveryStore store;
  private final AtomicInteger failingCreates = new AtomicInteger();
  private final AtomicInteger failingTopicReads = new AtomicInteger();
  private volatile String lostMarker;

  FaultyStore(RecoveryStore store) {
    this.store = store;
  }

  /** The next {@code n} session creates fail with {@code store_unavailable}. */
  void failCreates(int n) {
    failingCreates.set(n);
  }

  /** The next {@code n} reads of a topic's history or position fail with {@code store_unavailable}. */
  void failTopicReads(int n) {
    failingTopicReads.set(n);
  }

  private static <T> CompletionStage<T> unavailable() {
    return CompletableFuture.failedFuture(new GatewayException(ErrorCodes.STORE_UNAVAILABLE, "injected by the test"));
  }

  /**
   * Direct messages whose frame contains {@code marker} are appended, but their sessions' live
   * connections are not told: they are in the store only (the gateway finds them when it fills a gap).
   */
  void loseNotificationsOf(String marker) {
    lostMarker = marker;
  }

  @Override
  public CompletionStage<SessionState> create(String userId, String sessionId, String owner) {
    if (failingCreates.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return unavailable();
    }
    return store.create(userId, sessionId, owner);
  }

  @Override
  public CompletionStage<UserAppend> appendToUser(String userId, String messageId, byte[] frame, boolean dedupe) {
    String marker = lostMarker;
    CompletionStage<UserAppend> appended = store.appendToUser(userId, messageId, frame, dedupe);
    if (marker == null || !new String(frame, StandardCharsets.UTF_8).contains(marker)) {
      return appended;
    }
    return appended.thenApply(a -> new UserAppend(a.sessions().stream()
        .map(s -> new SessionAppend(s.sessionId(), s.seq(), null, s.epoch())).toList(), a.duplicate()));
  }

  @Override
  public CompletionStage<SessionState> claim(String userId, String sessionId, String owner) {
    return store.claim(userId, sessionId, owner);
  }

  @Override
  public CompletionStage<SessionState> restore(String userId, String sessionId, String owner, long lastSeq) {
    return store.restore(userId, sessionId, owner, lastSeq);
  }

  @Override
  public CompletionStage<Void> detach(String userId, String sessionId, String owner) {
    return store.detach(userId, sessionId, owner);
  }

  @Override
  public CompletionStage<SessionAppend> appendToSession(String userId, String sessionId, String messageId,
      byte[] frame) {
    return store.appendToSession(userId, sessionId, messageId, frame);
  }

  @Override
  public CompletionStage<Backlog> read(String userId, String sessionId, long afterSeq) {
    return store.read(userId, sessionId, afterSeq);
  }

  @Override
  public CompletionStage<TopicAppend> appendToTopic(String topic, String messageId, byte[] frame, boolean dedupe) {
    return store.appendToTopic(topic, messageId, frame, dedupe);
  }

  @Override
  public CompletionStage<TopicPosition> topicPosition(String topic) {
    if (failingTopicReads.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return unavailable();
    }
    return store.topicPosition(topic);
  }

  @Override
  public CompletionStage<TopicBacklog> readTopic(String topic, long afterOffset) {
    if (failingTopicReads.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return unavailable();
    }
    return store.readTopic(topic, afterOffset);
  }

  @Override
  public CompletionStage<String> incarnation() {
    return store.incarnation();
  }

  @Override
  public void close() {
    store.close();
  }
}
