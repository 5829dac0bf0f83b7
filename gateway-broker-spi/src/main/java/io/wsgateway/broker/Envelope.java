package io.wsgateway.broker;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An immutable message travelling between gateway instances: addressed to a user's connections or to
 * a topic's subscribers, with its payload as raw UTF-8 JSON.
 *
 * <p>The payload array is owned by the envelope once built; callers must not modify it afterwards
 * (copying every payload would cost more than the rule). Thread-safe.
 */
public final class Envelope {

  /** What {@link #target()} names. */
  public enum Kind {
    /** {@code target} is a user id: deliver to each of that user's connections. */
    USER,
    /**
     * {@code target} is a topic: deliver to each local subscriber. With a topic history, {@link
     * #seq()} is the publication's offset and {@link #epoch()} its history's epoch; both 0 without.
     */
    TOPIC,
    /**
     * {@code target} is a session id whose live connection is {@link #sessionOwner()}: a direct
     * message already appended to the session's stream at {@link #seq()} in {@link #epoch()}, for
     * that connection to write. {@code data} is the message frame without its seq.
     */
    SESSION,
    /**
     * {@code target} is a session id that another connection took over: its previous connection,
     * {@link #sessionOwner()}, is to close. No payload.
     */
    TAKEOVER
  }

  private final String id;
  private final Kind kind;
  private final String target;
  private final String from;
  private final byte[] data;
  private final String origin;
  private final long seq;
  private final long epoch;

  private Envelope(String id, Kind kind, String target, String from, byte[] data, String origin, long seq,
      long epoch) {
    this.id = Objects.requireNonNull(id, "id");
    this.kind = Objects.requireNonNull(kind, "kind");
    this.target = Objects.requireNonNull(target, "target");
    this.from = from;
    this.data = Objects.requireNonNull(data, "data");
    this.origin = origin;
    this.seq = seq;
    this.epoch = epoch;
  }

  private static final byte[] NO_DATA = new byte[0];

  /**
   * An envelope for every connection of {@code user}.
   *
   * @param id unique message id (for de-duplication and tracing)
   * @param from sending user, or {@code null} when a backend sends
   * @param data the payload, a complete UTF-8 JSON value
   * @param origin the instance that routed it, or {@code null}
   */
  public static Envelope toUser(String id, String user, String from, byte[] data, String origin) {
    return new Envelope(id, Kind.USER, user, from, data, origin, 0, 0);
  }

  /** An envelope for every subscriber of {@code topic}, which has no history; as {@link #toUser}. */
  public static Envelope toTopic(String id, String topic, String from, byte[] data, String origin) {
    return new Envelope(id, Kind.TOPIC, topic, from, data, origin, 0, 0);
  }

  /**
   * An envelope for every subscriber of {@code topic}, for a publication kept in the topic's history
   * at {@code offset} of {@code epoch}; otherwise as {@link #toUser}.
   */
  public static Envelope toTopic(String id, String topic, String from, byte[] data, String origin, long offset,
      long epoch) {
    return new Envelope(id, Kind.TOPIC, topic, from, data, origin, offset, epoch);
  }

  /**
   * A direct message for the live connection {@code owner} of session {@code sessionId}, appended to
   * the session's stream at {@code seq} of {@code epoch}; {@code frame} is the message frame without
   * its seq.
   */
  public static Envelope toSession(String id, String sessionId, String owner, long seq, long epoch, byte[] frame,
      String origin) {
    return new Envelope(id, Kind.SESSION, sessionId, owner, frame, origin, seq, epoch);
  }

  /** Tells {@code previousOwner}, the former connection of {@code sessionId}, that it was taken over. */
  public static Envelope takeover(String id, String sessionId, String previousOwner, String origin) {
    return new Envelope(id, Kind.TAKEOVER, sessionId, previousOwner, NO_DATA, origin, 0, 0);
  }

  /**
   * For a {@link Kind#SESSION} or {@link Kind#TAKEOVER} envelope, the connection it is for ({@code
   * instanceId/connectionId}); else {@code null}.
   */
  public String sessionOwner() {
    return kind == Kind.SESSION || kind == Kind.TAKEOVER ? from : null;
  }

  /** A {@link Kind#SESSION} message's seq, or a {@link Kind#TOPIC} publication's offset; else 0. */
  public long seq() {
    return seq;
  }

  /** The epoch of the stream {@link #seq()} belongs to; 0 when there is none. */
  public long epoch() {
    return epoch;
  }

  /** Unique message id. */
  public String id() {
    return id;
  }

  /** Whether {@link #target()} is a user or a topic. */
  public Kind kind() {
    return kind;
  }

  /** The user id or topic this envelope is addressed to. */
  public String target() {
    return target;
  }

  /** The sending user, or {@code null} when a backend sent it. */
  public String from() {
    return from;
  }

  /** The payload: one complete UTF-8 JSON value. Do not modify. */
  public byte[] data() {
    return data;
  }

  /** The payload decoded as a string, for logs and tests. */
  public String dataAsString() {
    return new String(data, StandardCharsets.UTF_8);
  }

  /** The instance that routed this envelope, or {@code null}. */
  public String origin() {
    return origin;
  }

  @Override
  public String toString() {
    return "Envelope{id=" + id + ", kind=" + kind + ", target=" + target + ", from=" + from
        + ", origin=" + origin + (seq != 0 ? ", seq=" + seq + ", epoch=" + epoch : "") + ", data=" + data.length
        + " bytes}";
  }
}
