package io.wsgateway.chaos.check;

import io.wsgateway.chaos.history.StreamKind;
import java.util.List;

/**
 * One finding of the checker. Immutable.
 *
 * @param type what was violated
 * @param kind the stream kind of the message, or {@code null} when the delivery could not be read
 * @param user the recipient
 * @param id the message id, or {@code null} when the delivery could not be read
 * @param summary one line: the message, what happened to it, when, and on which instances
 * @param from start of the time span (nanoseconds since the run start) whose faults and connections explain it
 * @param to end of that span
 * @param sources the users whose connections matter besides the recipient (the sender), possibly empty
 */
public record Violation(Type type, StreamKind kind, String user, String id, String summary, long from, long to,
    List<String> sources) {

  /** The kinds of violation; each must be zero. */
  public enum Type {
    /** Acknowledged, due to the recipient, never delivered, and no loss signal covers it. */
    LOST,
    /** Delivered to the application more than once (in one session or across sessions). */
    DUPLICATE,
    /** Delivered after a later message of the same stream (sender or publisher to this recipient). */
    REORDERED,
    /** Delivered to a user it was not for, or a payload that is not a message of this run. */
    MISDELIVERED
  }
}
