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
    /** {@code target} is a topic: deliver to each local subscriber. */
    TOPIC,
    /**
     * {@code target} is a session id: the instance serving that session delivers {@code data} to it.
     * Used when a session moved between instances; {@code data} is then a gateway-internal frame.
     */
    SESSION
  }

  private final String id;
  private final Kind kind;
  private final String target;
  private final String from;
  private final byte[] data;
  private final String origin;

  private Envelope(String id, Kind kind, String target, String from, byte[] data, String origin) {
    this.id = Objects.requireNonNull(id, "id");
    this.kind = Objects.requireNonNull(kind, "kind");
    this.target = Objects.requireNonNull(target, "target");
    this.from = from;
    this.data = Objects.requireNonNull(data, "data");
    this.origin = origin;
  }

  /**
   * An envelope for every connection of {@code user}.
   *
   * @param id unique message id (for de-duplication and tracing)
   * @param from sending user, or {@code null} when a backend sends
   * @param data the payload, a complete UTF-8 JSON value
   * @param origin the instance that routed it, or {@code null}
   */
  public static Envelope toUser(String id, String user, String from, byte[] data, String origin) {
    return new Envelope(id, Kind.USER, user, from, data, origin);
  }

  /** An envelope for every subscriber of {@code topic}; parameters as in {@link #toUser}. */
  public static Envelope toTopic(String id, String topic, String from, byte[] data, String origin) {
    return new Envelope(id, Kind.TOPIC, topic, from, data, origin);
  }

  /** An envelope for one session, wherever it is served now; parameters as in {@link #toUser}. */
  public static Envelope toSession(String id, String sessionId, byte[] data, String origin) {
    return new Envelope(id, Kind.SESSION, sessionId, null, data, origin);
  }

  /**
   * As above, naming the session's owner as the sender last knew it ({@link #sessionOwner()}), so the
   * receiving instance can keep the message for the session if that owner is gone.
   */
  public static Envelope toSession(String id, String sessionId, String owner, byte[] data, String origin) {
    return new Envelope(id, Kind.SESSION, sessionId, owner, data, origin);
  }

  /** For a {@link Kind#SESSION} envelope, the session's owner as its sender knew it, or {@code null}. */
  public String sessionOwner() {
    return kind == Kind.SESSION ? from : null;
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
        + ", origin=" + origin + ", data=" + data.length + " bytes}";
  }
}
