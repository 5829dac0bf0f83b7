import { GapCodes } from "./errors.js";
import type { ServerFrame } from "./frames.js";
import { Sequencer } from "./sequencer.js";
import { TopicPositions } from "./topic-positions.js";
import type { GapEvent, Message } from "./types.js";

/**
 * Decides what the application sees: each direct message once, in `seq` order within the session
 * ({@link Sequencer}); each topic message once, in `offset` order within its topic
 * ({@link TopicPositions}); and a report of what the server says is lost (`gap` frames, a subscribe
 * ack that could not catch up).
 */
export class Delivery {
  private readonly sequencer = new Sequencer();
  /** The subscribed topics and their positions. */
  readonly topics = new TopicPositions();

  /**
   * @param deliver hands a message to the application
   * @param report tells the application of a loss
   */
  constructor(
    private readonly deliver: (m: Message) => void,
    private readonly report: (g: GapEvent) => void,
  ) {}

  /** The last direct message's seq delivered or skipped in this session: what a resume continues after. */
  get lastSeq(): number {
    return this.sequencer.lastSeq;
  }

  /** The server started a new session: direct messages are numbered from 1 again. Topics keep their positions. */
  newSession(): void {
    this.sequencer.reset();
  }

  /**
   * A `message` frame: delivered if it is the next of its stream, dropped if seen already. Returns
   * false when messages are missing before it: nothing more of this connection may be delivered, and
   * the client must reconnect to have them sent again (resume, subscribe with `since`).
   */
  message(f: ServerFrame): boolean {
    if (f.seq >= 0) {
      switch (this.sequencer.accept(f.seq)) {
        case "deliver":
          this.deliver(message(f, "seq", f.seq));
          return true;
        case "duplicate":
          return true;
        case "gap":
          return false;
      }
    }
    if (f.topic !== undefined && f.offset >= 0) {
      switch (this.topics.accept(f.topic, f.offset)) {
        case "deliver":
          this.deliver(message(f, "offset", f.offset));
          return true;
        case "duplicate":
          return true;
        case "gap":
          // Rare: the gateway writes a subscription's offsets contiguously or sends a gap frame. The
          // reconnect recovers it the way every reconnect recovers topics (subscribe with since):
          // simpler than unsubscribe + subscribe on this connection, which would have to tell the old
          // subscription's messages in flight from the new one's.
          return false;
      }
    }
    // Not numbered: a topic message of a gateway without topic history; delivered as it comes.
    this.deliver(message(f, undefined, 0));
    return true;
  }

  /**
   * A `gap` frame: messages the server cannot deliver any more. The stream continues after them, and
   * the application is told, unless nothing this client was waiting for is lost.
   */
  gap(f: ServerFrame): void {
    const reason = f.reason ?? "unknown";
    if (f.topic === undefined) {
      if (f.nextSeq >= 1 && this.sequencer.skipTo(f.nextSeq)) {
        this.report({
          code: GapCodes.GAP, reason, next: f.nextSeq,
          message: reason + ": direct messages before seq " + f.nextSeq + " are lost",
        });
      }
    } else if (f.epoch !== undefined && f.nextOffset >= 1 && this.topics.skipTo(f.topic, f.epoch, f.nextOffset)) {
      this.report({
        code: GapCodes.TOPIC_GAP, reason, topic: f.topic, next: f.nextOffset,
        message: f.topic + ": " + reason,
      });
    }
  }

  /**
   * An `ack` frame. A subscribe ack of a gateway with topic history says where the subscription
   * starts: with `recovered:true` at the `since` sent, the missed publications following; with
   * `recovered:false` they could not be recovered, and the application is told.
   */
  ack(f: ServerFrame): void {
    if (f.topic === undefined || f.offset < 0 || f.epoch === undefined) {
      return;
    }
    if (this.topics.acked(f.topic, f.offset, f.epoch, f.recovered) && f.recovered === false) {
      const reason = f.reason ?? "unknown";
      this.report({
        code: GapCodes.TOPIC_GAP, reason, topic: f.topic, next: f.offset + 1,
        message: f.topic + ": " + reason,
      });
    }
  }
}

function message(f: ServerFrame, numbered: "seq" | "offset" | undefined, n: number): Message {
  const m: Message = { data: f.data };
  if (f.from !== undefined) {
    m.from = f.from;
  }
  if (f.topic !== undefined) {
    m.topic = f.topic;
  }
  if (numbered === "seq") {
    m.seq = n;
  } else if (numbered === "offset") {
    m.offset = n;
  }
  return m;
}
