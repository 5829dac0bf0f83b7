package io.wsgateway.client.internal;

import io.wsgateway.client.internal.Sequencer.Verdict;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The topics the application subscribed, each with the position it has in the topic's history: the
 * last {@code offset} delivered and the history's {@code epoch}. Decides, publication by
 * publication, what the application sees (exactly once and in offset order per topic), and what a
 * re-subscribe asks the server to catch up on ({@code since}). Pure logic, confined to one thread
 * (the client's event loop); not thread-safe.
 *
 * <p>A position is unknown ({@code -1}) until a subscribe ack with {@code offset} and {@code epoch}
 * sets it; a gateway without topic history never sends one, and its messages carry no offset.
 */
public final class TopicPositions {

  /** One subscribed topic. */
  private static final class Position {
    long last = -1;
    String epoch;
  }

  /** In subscription order, so re-subscribes go out in the order the application subscribed. */
  private final Map<String, Position> topics = new LinkedHashMap<>();

  /** The application subscribes {@code topic}; a topic subscribed already keeps its position. */
  public void add(String topic) {
    topics.putIfAbsent(topic, new Position());
  }

  /** The application unsubscribed (or the server refused the subscription): its position is forgotten. */
  public void remove(String topic) {
    topics.remove(topic);
  }

  public boolean contains(String topic) {
    return topics.containsKey(topic);
  }

  /** The subscribed topics, in subscription order (a copy). */
  public List<String> topics() {
    return new ArrayList<>(topics.keySet());
  }

  /** The last offset delivered for {@code topic}, or -1 when unknown (or not subscribed). */
  public long last(String topic) {
    Position p = topics.get(topic);
    return p == null ? -1 : p.last;
  }

  /** The epoch of {@code topic}'s position, or {@code null} when unknown (or not subscribed). */
  public String epoch(String topic) {
    Position p = topics.get(topic);
    return p == null || p.last < 0 ? null : p.epoch;
  }

  /**
   * Judges the publication numbered {@code offset} of {@code topic}, advancing the position only on
   * {@link Verdict#DELIVER}. A topic that is not subscribed (a subscription made with a raw frame,
   * or a message in flight past an unsubscribe) or whose position is not known yet has nothing to
   * judge by: its message is delivered, and a known topic takes its offset as the position.
   */
  public Verdict accept(String topic, long offset) {
    Position p = topics.get(topic);
    if (p == null) {
      return Verdict.DELIVER;
    }
    if (p.last < 0 || offset == p.last + 1) {
      p.last = offset;
      return Verdict.DELIVER;
    }
    return offset <= p.last ? Verdict.DUPLICATE : Verdict.GAP;
  }

  /**
   * A subscribe ack with a position: the subscription delivers the publications after {@code offset}
   * of {@code epoch}. It becomes the topic's position when none is known yet, when the epoch is
   * another, or when a catch-up failed ({@code recovered} false: what came before {@code offset} is
   * lost). Otherwise the known position stays: a successful catch-up's ack repeats the {@code since}
   * that was sent, and the ack of a topic subscribed already reports the last offset the server
   * wrote, which the client has seen (or discarded before a reconnect, and then must ask for again).
   *
   * @param recovered the ack's {@code recovered}, {@code null} when absent
   * @return whether the topic is subscribed (an ack of a topic unsubscribed meanwhile is ignored)
   */
  public boolean acked(String topic, long offset, String epoch, Boolean recovered) {
    Position p = topics.get(topic);
    if (p == null) {
      return false;
    }
    if (Boolean.FALSE.equals(recovered) || p.last < 0 || !epoch.equals(p.epoch)) {
      p.last = offset;
      p.epoch = epoch;
    }
    return true;
  }

  /**
   * A topic {@code gap} frame: the publications before {@code nextOffset} of {@code epoch} not
   * received yet are lost, and the topic continues at {@code nextOffset}.
   *
   * @return whether anything was lost for this client: the topic is subscribed, and the epoch
   *     changed or {@code nextOffset} is beyond the next expected offset
   */
  public boolean skipTo(String topic, String epoch, long nextOffset) {
    Position p = topics.get(topic);
    if (p == null || (epoch.equals(p.epoch) && nextOffset - 1 <= p.last)) {
      return false;
    }
    p.last = nextOffset - 1;
    p.epoch = epoch;
    return true;
  }
}
