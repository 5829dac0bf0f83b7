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
  /** Bound to the ingress exchange; its one active consumer moves each message to its partition. */
  final String ingressSplitQueue;
  private final String ingressPartitionPrefix;
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
    this.ingressSplitQueue = prefix + ".ingress.split";
    this.ingressPartitionPrefix = prefix + ".ingress.part.";
  }

  /** The queue of ingress partition {@code index}. */
  String ingressPartition(int index) {
    return ingressPartitionPrefix + index;
  }

  /**
   * The partition of a recipient: FNV-1a (32 bits) of the UTF-8 bytes of {@code kind + ":" + target}
   * (kind {@code user} or {@code topic}), as an unsigned number modulo {@code partitions}. Documented
   * in {@code docs/backend.md}: it must never change, or messages for one recipient queued around the
   * change would be split between two partitions.
   */
  static int partitionOf(String recipientKey, int partitions) {
    int hash = 0x811c9dc5;
    for (byte b : recipientKey.getBytes(StandardCharsets.UTF_8)) {
      hash ^= b & 0xff;
      hash *= 0x01000193;
    }
    return (int) (Integer.toUnsignedLong(hash) % partitions);
  }

  /** The key ingress is partitioned and ordered by: {@code user:<id>} or {@code topic:<name>}. */
  static String recipientKey(io.wsgateway.broker.Envelope envelope) {
    return (envelope.kind() == io.wsgateway.broker.Envelope.Kind.TOPIC ? "topic:" : "user:") + envelope.target();
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
