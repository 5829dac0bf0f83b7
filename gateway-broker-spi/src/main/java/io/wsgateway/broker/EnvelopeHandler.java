package io.wsgateway.broker;

/**
 * Receives the envelopes a {@link BrokerEndpoint} consumes. Implemented by the gateway.
 *
 * <p>Called on broker threads, possibly concurrently; must not block.
 */
@FunctionalInterface
public interface EnvelopeHandler {

  /** An envelope arrived in this instance's inbox, or on a topic it subscribes to. */
  void onEnvelope(Envelope envelope);

  /**
   * As {@link #onEnvelope}, telling when the envelope is safely handled (e.g. kept for a session's
   * recovery): a broker that acknowledges messages does so only then, so a crash before it means
   * redelivery, not loss. A failed stage means the handler could not handle it here (e.g. the
   * registry timed out): a broker that can hands it to another instance's {@link #onOrphan}.
   * Default: {@link #onEnvelope}, handled at once.
   */
  default java.util.concurrent.CompletionStage<Void> handle(Envelope envelope) {
    onEnvelope(envelope);
    return java.util.concurrent.CompletableFuture.completedFuture(null);
  }

  /**
   * An envelope arrived from backend ingress: it is addressed to a user or topic but not yet routed
   * to an instance, so the receiving gateway routes it. Default: treat as {@link #onEnvelope}.
   *
   * <p>Order: a broker that orders ingress per recipient (the RabbitMQ broker does; a recipient is the
   * pair of {@link Envelope#kind()} and {@link Envelope#target()}) calls this for a recipient only once
   * the stage it returned for that recipient's previous envelope has completed, on whichever instance
   * that was; envelopes of different recipients may be handed over concurrently. For the order to
   * reach the clients, the handler must (1) complete the stage only once the envelope is handed over
   * so that nothing it hands over later for the same recipient can overtake it (confirmed by the
   * broker into every target instance's inbox, or delivered or stored locally), and (2) deliver the
   * envelopes of successive calls for one recipient in call order. After an instance fails, an
   * envelope it had routed may be handed over again (same {@link Envelope#id()}): drop it by id.
   *
   * @return completes when the envelope was routed; a broker acknowledges the ingress message then.
   *     Failing with a {@link BrokerException} of reason {@link BrokerException.Reason#UNAVAILABLE}
   *     (this instance cannot route now, e.g. it is stopping) asks the broker to hand the message
   *     (with those behind it, in order) to another consumer; reason {@link
   *     BrokerException.Reason#NO_ROUTE} (the addressee was not found) asks for another try, which
   *     an ordering broker makes in place, a bounded number of times, before it dead-letters the
   *     message; any other failure means the handler gave up on it (and reported why).
   */
  default java.util.concurrent.CompletionStage<Void> onIngress(Envelope envelope) {
    onEnvelope(envelope);
    return java.util.concurrent.CompletableFuture.completedFuture(null);
  }

  /**
   * An envelope that was addressed to instance {@code deadInstance} but waited in its inbox too long
   * (the instance crashed, or is hopelessly behind), handed to another instance by a broker that
   * supports it. The handler delivers it as if freshly routed, without sending it back into that
   * instance's inbox unless the instance is alive again. Default: {@link #handle}.
   *
   * @param deadInstance the instance whose inbox it waited in, or {@code null} if unknown
   * @return completes when the envelope is safely handled; the broker acknowledges it then
   */
  default java.util.concurrent.CompletionStage<Void> onOrphan(Envelope envelope, String deadInstance) {
    return handle(envelope);
  }
}
