import type { Verdict } from "./sequencer.js";

interface Position {
  /** The last offset delivered, -1 while unknown. */
  last: number;
  epoch: string | undefined;
}

/**
 * The topics the application subscribed, each with its position in the topic's history: the last
 * `offset` delivered and the history's `epoch`. Decides, publication by publication, what the
 * application sees (exactly once and in offset order per topic), and what a re-subscribe asks the
 * server to catch up on (`since`). Pure logic.
 *
 * A position is unknown until a subscribe ack with `offset` and `epoch` sets it; a gateway without
 * topic history never sends one, and its messages carry no offset.
 */
export class TopicPositions {
  /** In subscription order (a Map keeps insertion order), so re-subscribes go out in that order. */
  private readonly topics = new Map<string, Position>();

  /** The application subscribes `topic`; a topic subscribed already keeps its position. */
  add(topic: string): void {
    if (!this.topics.has(topic)) {
      this.topics.set(topic, { last: -1, epoch: undefined });
    }
  }

  /** The application unsubscribed (or the server refused or revoked the subscription): its position is forgotten. */
  remove(topic: string): void {
    this.topics.delete(topic);
  }

  has(topic: string): boolean {
    return this.topics.has(topic);
  }

  /** The subscribed topics, in subscription order (a copy). */
  list(): string[] {
    return [...this.topics.keys()];
  }

  /** The last offset delivered for `topic`, or -1 when unknown (or not subscribed). */
  last(topic: string): number {
    return this.topics.get(topic)?.last ?? -1;
  }

  /** The epoch of `topic`'s position, or undefined when unknown (or not subscribed). */
  epoch(topic: string): string | undefined {
    const p = this.topics.get(topic);
    return p === undefined || p.last < 0 ? undefined : p.epoch;
  }

  /**
   * Judges the publication numbered `offset` of `topic`, advancing the position only on "deliver".
   * A topic that is not subscribed (a subscription made with a raw frame, or a message in flight past
   * an unsubscribe) or whose position is not known yet has nothing to judge by: its message is
   * delivered, and a known topic takes its offset as the position.
   */
  accept(topic: string, offset: number): Verdict {
    const p = this.topics.get(topic);
    if (p === undefined) {
      return "deliver";
    }
    if (p.last < 0 || offset === p.last + 1) {
      p.last = offset;
      return "deliver";
    }
    return offset <= p.last ? "duplicate" : "gap";
  }

  /**
   * A subscribe ack with a position: the subscription delivers the publications after `offset` of
   * `epoch`. It becomes the topic's position when none is known yet, when the epoch is another, or
   * when a catch-up failed (`recovered` false: what came before `offset` is lost). Otherwise the known
   * position stays: a successful catch-up's ack repeats the `since` that was sent, and the ack of a
   * topic subscribed already reports the last offset the server wrote, which the client has seen (or
   * discarded before a reconnect, and then must ask for again).
   *
   * Returns whether the topic is subscribed (an ack of a topic unsubscribed meanwhile is ignored).
   */
  acked(topic: string, offset: number, epoch: string, recovered: boolean | undefined): boolean {
    const p = this.topics.get(topic);
    if (p === undefined) {
      return false;
    }
    if (recovered === false || p.last < 0 || epoch !== p.epoch) {
      p.last = offset;
      p.epoch = epoch;
    }
    return true;
  }

  /**
   * A topic `gap` frame: the publications before `nextOffset` of `epoch` not received yet are lost,
   * and the topic continues at `nextOffset`. Returns whether anything was lost for this client: the
   * topic is subscribed, and the epoch changed or `nextOffset` is beyond the next expected offset.
   */
  skipTo(topic: string, epoch: string, nextOffset: number): boolean {
    const p = this.topics.get(topic);
    if (p === undefined || (epoch === p.epoch && nextOffset - 1 <= p.last)) {
      return false;
    }
    p.last = nextOffset - 1;
    p.epoch = epoch;
    return true;
  }
}
