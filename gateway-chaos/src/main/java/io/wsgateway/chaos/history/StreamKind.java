package io.wsgateway.chaos.history;

/** The three kinds of numbered streams the workload sends, each checked on its own. */
public enum StreamKind {
  /** A client's {@code send} to another user (most cross instances). */
  DIRECT("d"),
  /** A client's {@code publish} to a topic that several clients subscribe to. */
  TOPIC("t"),
  /** A backend's message to a user through the RabbitMQ ingress exchange. */
  INGRESS("i");

  private final String code;

  StreamKind(String code) {
    this.code = code;
  }

  /** The one-letter code used in message ids and payloads. */
  public String code() {
    return code;
  }

  /** The kind with this {@link #code()}. */
  public static StreamKind ofCode(String code) {
    for (StreamKind k : values()) {
      if (k.code.equals(code)) {
        return k;
      }
    }
    throw new IllegalArgumentException("stream kind: " + code + " (expected: d, t or i)");
  }
}
