package io.wsgateway.client.internal;

/**
 * Decides, direct message by direct message, what the application sees: exactly once and in {@code
 * seq} order within a session (topic messages are numbered apart, see {@link TopicPositions}). Pure
 * logic, confined to one thread (the client's event loop); not thread-safe.
 */
public final class Sequencer {

  /** What to do with a message. */
  public enum Verdict {
    /** The next message: deliver it; it is now the last delivered. */
    DELIVER,
    /** Already delivered (a replay overlapping what was seen): drop it. */
    DUPLICATE,
    /** Messages are missing before it: do not deliver; resume after {@link #lastSeq()} to get them replayed. */
    GAP
  }

  private long lastSeq;

  /** Judges the message numbered {@code seq}, advancing {@link #lastSeq()} only on {@link Verdict#DELIVER}. */
  public Verdict accept(long seq) {
    if (seq == lastSeq + 1) {
      lastSeq = seq;
      return Verdict.DELIVER;
    }
    return seq <= lastSeq ? Verdict.DUPLICATE : Verdict.GAP;
  }

  /** The last delivered {@code seq}, 0 if none: what a resume asks the server to continue after. */
  public long lastSeq() {
    return lastSeq;
  }

  /**
   * The server said that the messages before {@code nextSeq} not received yet are lost (a {@code gap}
   * frame): the stream continues at {@code nextSeq}.
   *
   * @return whether anything was skipped, i.e. {@code nextSeq} was beyond the next expected seq
   */
  public boolean skipTo(long nextSeq) {
    if (nextSeq - 1 <= lastSeq) {
      return false;
    }
    lastSeq = nextSeq - 1;
    return true;
  }

  /** Starts a new session, numbered from 1 again. */
  public void reset() {
    lastSeq = 0;
  }
}
