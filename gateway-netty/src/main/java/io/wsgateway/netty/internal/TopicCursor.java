package io.wsgateway.netty.internal;

import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.StoredMessage;
import io.wsgateway.recovery.TopicBacklog;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * One subscription of a connection to a topic with history: writes the topic's publications in
 * {@code offset} order within the history's epoch ({@link Resequencer}), catches up from the offset
 * a resubscribing client gives, and tells the client when the history's epoch changed under it (the
 * store lost it) with a {@code gap} frame. Confined to the connection's event loop.
 */
final class TopicCursor implements Resequencer.Source, Resequencer.Sink {

  private final ConnectionHandler connection;
  private final RecoveryStore store;
  final String topic;
  private final Resequencer stream;
  /** The history's epoch as this subscription knows it. */
  private long epoch;
  /** The fan-out batch's encoding of the publication being offered, used if it is written now. */
  private SharedFrame shared;
  private long sharedOffset;

  TopicCursor(ConnectionHandler connection, RecoveryStore store, String topic) {
    this.connection = connection;
    this.store = store;
    this.topic = topic;
    this.stream = new Resequencer(connection.channel().eventLoop(), this, this);
  }

  /** Starts after {@code offset} of {@code epoch}; what was offered before and comes later is written. */
  void start(long offset, long epoch) {
    this.epoch = epoch;
    stream.start(offset + 1);
  }

  long epoch() {
    return epoch;
  }

  /** The last offset written, or the one the subscription started after. */
  long position() {
    return stream.started() ? stream.next() - 1 : 0;
  }

  boolean started() {
    return stream.started();
  }

  /**
   * One publication of the topic; {@code frame}, when not null, is the fan-out batch's shared
   * encoding of it.
   */
  void offer(long offset, long messageEpoch, String messageId, byte[] prefix, SharedFrame frame) {
    if (messageEpoch != epoch && stream.started()) {
      if (!newer(messageEpoch)) {
        return; // a late publication of an epoch this subscription already left
      }
      // The store lost the history: the new epoch starts over at 1, and the client hears of the gap.
      leftEpochs = leftEpochs == null ? new java.util.HashSet<>() : leftEpochs;
      leftEpochs.add(epoch);
      epoch = messageEpoch;
      stream.restart(1);
      connection.writeText(Protocol.topicGap(topic, "history_reset", Protocol.epochText(epoch), 1), "gap");
    }
    shared = frame;
    sharedOffset = offset;
    try {
      stream.offer(offset, messageId, prefix);
    } finally {
      shared = null;
    }
  }

  /** Epochs this subscription moved on from, so their late publications do not switch it back. */
  private java.util.Set<Long> leftEpochs;

  private boolean newer(long messageEpoch) {
    return leftEpochs == null || !leftEpochs.contains(messageEpoch);
  }

  /** The subscription ended. */
  void close() {
    stream.close();
  }

  // ---- Resequencer.Source and Sink ----

  @Override
  public CompletionStage<Resequencer.Fill> readAfter(long after) {
    long expected = epoch;
    return store.readTopic(topic, after).thenApply((TopicBacklog b) -> {
      if (b.epoch() != expected) {
        return new Resequencer.Fill(after + 1, List.<StoredMessage>of(), "history_reset");
      }
      return b.trimmed() ? new Resequencer.Fill(after + 1, List.of(), "trimmed")
          : new Resequencer.Fill(b.firstOffset(), b.messages(), null);
    });
  }

  @Override
  public void write(long offset, String messageId, byte[] prefix) {
    connection.writeTopicMessage(offset, prefix, offset == sharedOffset ? shared : null);
  }

  @Override
  public void gap(long next, String reason) {
    connection.writeText(Protocol.topicGap(topic, reason, Protocol.epochText(epoch), next), "gap");
  }

  @Override
  public void overflow() {
    connection.closeWith(io.wsgateway.CloseCodes.TRY_AGAIN_LATER, io.wsgateway.CloseCodes.REASON_STORE_UNAVAILABLE,
        false);
  }
}
