package io.wsgateway.rabbit.internal;

import java.nio.charset.StandardCharsets;

/**
 * The names of the exchanges and queues under one prefix; {@code docs/backend.md} documents them for
 * backend developers, so they are part of the contract. Immutable.
 */
final class Topology {

  /** AMQP short strings (names, routing keys) hold at most 255 bytes. */
  static final int MAX_NAME_BYTES = 255;

  final String inboxExchange;
  final String topicsExchange;
  final String ingressExchange;
  final String ingressQueue;
  /** Where inboxes dead-letter what waited too long: shared by all instances, like ingress. */
  final String orphansQueue;
  final String upstreamExchange;
  /** Where ingress messages that cannot be routed go, with the reason in a header. */
  final String ingressDeadLetterQueue;
  private final String inboxQueuePrefix;

  Topology(String prefix) {
    this.inboxExchange = prefix + ".inbox";
    this.inboxQueuePrefix = prefix + ".inbox.";
    this.topicsExchange = prefix + ".topics";
    this.ingressExchange = prefix + ".ingress";
    this.ingressQueue = prefix + ".ingress";
    this.orphansQueue = prefix + ".orphans";
    this.upstreamExchange = prefix + ".upstream";
    this.ingressDeadLetterQueue = prefix + ".ingress.dlq";
  }

  /** The inbox queue of {@code instanceId}; it is bound to the inbox exchange with the id as key. */
  String inboxQueue(String instanceId) {
    return inboxQueuePrefix + instanceId;
  }

  /** The instance whose inbox {@code queue} is, or {@code null} if it is not an inbox. */
  String instanceOfInbox(String queue) {
    return queue != null && queue.startsWith(inboxQueuePrefix) ? queue.substring(inboxQueuePrefix.length()) : null;
  }

  /** Rejects a name or routing key AMQP cannot carry, before it reaches (and closes) a channel. */
  static String checkName(String what, String value) {
    if (value == null) {
      throw new NullPointerException(what);
    }
    int bytes = value.getBytes(StandardCharsets.UTF_8).length;
    if (value.isEmpty() || bytes > MAX_NAME_BYTES) {
      throw new IllegalArgumentException(what + ": " + bytes + " bytes (expected: 1.." + MAX_NAME_BYTES + " bytes of UTF-8)");
    }
    return value;
  }
}
