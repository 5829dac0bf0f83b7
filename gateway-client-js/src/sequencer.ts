/** What to do with a numbered message. */
export type Verdict = "deliver" | "duplicate" | "gap";

/**
 * Decides, direct message by direct message, what the application sees: exactly once and in `seq`
 * order within a session (topic messages are numbered apart, see {@link TopicPositions}). Pure logic.
 */
export class Sequencer {
  private last = 0;

  /**
   * Judges the message numbered `seq`, advancing {@link lastSeq} only on `"deliver"`: the next one
   * is delivered, one seen already is a duplicate (a replay overlapping what was seen), one beyond
   * the next means messages are missing before it (resume after `lastSeq` to have them replayed).
   */
  accept(seq: number): Verdict {
    if (seq === this.last + 1) {
      this.last = seq;
      return "deliver";
    }
    return seq <= this.last ? "duplicate" : "gap";
  }

  /** The last delivered `seq`, 0 if none: what a resume asks the server to continue after. */
  get lastSeq(): number {
    return this.last;
  }

  /**
   * The server said the messages before `nextSeq` not received yet are lost (a `gap` frame): the
   * stream continues at `nextSeq`. Returns whether anything was skipped.
   */
  skipTo(nextSeq: number): boolean {
    if (nextSeq - 1 <= this.last) {
      return false;
    }
    this.last = nextSeq - 1;
    return true;
  }

  /** Starts a new session, numbered from 1 again. */
  reset(): void {
    this.last = 0;
  }
}
