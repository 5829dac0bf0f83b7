package io.wsgateway.client.internal;

import io.wsgateway.client.ClientException;
import io.wsgateway.client.ClientMessage;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides what the application sees: each direct message once, in {@code seq} order within the
 * session ({@link Sequencer}); each topic message once, in {@code offset} order within its topic
 * ({@link TopicPositions}); and a report of what the server says is lost ({@code gap} frames, a
 * subscribe ack that could not catch up). Confined to the client's event loop, except {@link
 * #lastSeq()}.
 */
final class Delivery {

  private static final Logger log = LoggerFactory.getLogger(Delivery.class);

  private final Sequencer sequencer = new Sequencer();
  private final TopicPositions topics = new TopicPositions();
  private final Consumer<ClientMessage> deliver;
  private final BiConsumer<String, String> report;
  /** The sequencer's last seq, for {@code GatewayClient.lastSeq()} on any thread. */
  private volatile long lastSeq;

  /**
   * @param deliver hands a message to the application
   * @param report tells the application of a loss: an error code and its message
   */
  Delivery(Consumer<ClientMessage> deliver, BiConsumer<String, String> report) {
    this.deliver = deliver;
    this.report = report;
  }

  /** The subscribed topics and their positions. */
  TopicPositions topics() {
    return topics;
  }

  /** The last direct message's seq delivered or skipped in this session: what a resume continues after. Any thread. */
  long lastSeq() {
    return lastSeq;
  }

  /** The server started a new session: direct messages are numbered from 1 again. Topics keep their positions. */
  void newSession() {
    sequencer.reset();
    lastSeq = 0;
  }

  /**
   * A {@code message} frame: delivered if it is the next of its stream, dropped if seen already.
   *
   * @return false when messages are missing before it: nothing more of this connection may be
   *     delivered, and the client must reconnect to have them sent again (resume, subscribe with
   *     {@code since})
   */
  boolean message(Frames.ServerFrame f) {
    if (f.seq() >= 0) {
      return direct(f);
    }
    if (f.topic() != null && f.offset() >= 0) {
      return topic(f);
    }
    // Not numbered: a topic message of a gateway without topic history; delivered as it comes.
    deliver.accept(new ClientMessage(f.from(), f.topic(), f.data(), 0));
    return true;
  }

  private boolean direct(Frames.ServerFrame f) {
    switch (sequencer.accept(f.seq())) {
      case DELIVER -> {
        lastSeq = f.seq();
        deliver.accept(new ClientMessage(f.from(), f.topic(), f.data(), f.seq()));
      }
      case DUPLICATE -> log.debug("dropping duplicate seq {} (last delivered {})", f.seq(), sequencer.lastSeq());
      case GAP -> {
        log.info("seq {} after {}: messages missing, reconnecting to resume", f.seq(), sequencer.lastSeq());
        return false;
      }
    }
    return true;
  }

  private boolean topic(Frames.ServerFrame f) {
    switch (topics.accept(f.topic(), f.offset())) {
      case DELIVER -> deliver.accept(new ClientMessage(f.from(), f.topic(), f.data(), f.offset()));
      case DUPLICATE -> log.debug("dropping duplicate offset {} of topic {} (last delivered {})", f.offset(), f.topic(),
          topics.last(f.topic()));
      case GAP -> {
        // The gateway writes a subscription's offsets contiguously (or sends a gap frame), so this is
        // rare. The client recovers it with a reconnect, the way every reconnect recovers topics
        // (subscribe with since): simpler and more robust than unsubscribe + subscribe on this
        // connection, which would have to tell the old subscription's messages still in flight from
        // the new one's, and would race the gateway's asynchronous unsubscribe against the
        // subscribe. Direct messages discarded with the connection come back with the resume.
        log.info("topic {}: offset {} after {}: messages missing, reconnecting to catch up", f.topic(), f.offset(),
            topics.last(f.topic()));
        return false;
      }
    }
    return true;
  }

  /**
   * A {@code gap} frame: messages the server cannot deliver any more. The stream continues after
   * them, and the application is told, unless nothing this client was waiting for is lost.
   */
  void gap(Frames.ServerFrame f) {
    String reason = f.reason() == null ? "unknown" : f.reason();
    if (f.topic() == null) {
      if (f.nextSeq() >= 1 && sequencer.skipTo(f.nextSeq())) {
        lastSeq = sequencer.lastSeq();
        report.accept(ClientException.GAP, reason + ": direct messages before seq " + f.nextSeq() + " are lost");
      }
    } else if (f.epoch() != null && f.nextOffset() >= 1 && topics.skipTo(f.topic(), f.epoch(), f.nextOffset())) {
      report.accept(ClientException.TOPIC_GAP, f.topic() + ": " + reason);
    }
  }

  /**
   * An {@code ack} frame. A subscribe ack of a gateway with topic history says where the
   * subscription starts: with {@code recovered:true} at the {@code since} sent, the missed
   * publications following; with {@code recovered:false} they could not be recovered, and the
   * application is told.
   */
  void ack(Frames.ServerFrame f) {
    if (f.topic() == null || f.offset() < 0 || f.epoch() == null) {
      return;
    }
    if (topics.acked(f.topic(), f.offset(), f.epoch(), f.recovered()) && Boolean.FALSE.equals(f.recovered())) {
      report.accept(ClientException.TOPIC_GAP, f.topic() + ": " + (f.reason() == null ? "unknown" : f.reason()));
    }
  }
}
