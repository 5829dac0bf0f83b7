package io.wsgateway.broker;

import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * One gateway instance's attachment to a {@link MessageBroker}: sends envelopes and manages which
 * topics the instance receives.
 *
 * <p>Thread-safe; methods never block. Every returned stage completes exceptionally with a {@link
 * BrokerException} when the broker cannot take the envelope; it never drops one silently. The
 * gateway that attached the endpoint closes it.
 */
public interface BrokerEndpoint {

  /**
   * Sends an envelope to the inbox of {@code instanceId}.
   *
   * @return completes once the broker has accepted the envelope durably enough to deliver it (for
   *     RabbitMQ: a publisher confirm); fails with {@link BrokerException} with reason {@link
   *     BrokerException.Reason#NO_ROUTE} when that inbox does not exist
   */
  CompletionStage<Void> sendToInstance(String instanceId, Envelope envelope);

  /**
   * Publishes an envelope to every instance that currently subscribes to {@code topic} (including
   * this one, if it does).
   *
   * @return completes once the broker accepted the envelope
   */
  CompletionStage<Void> publish(String topic, Envelope envelope);

  /** Starts receiving envelopes published to {@code topic}. Idempotent. */
  CompletionStage<Void> subscribe(String topic);

  /** Stops receiving envelopes published to {@code topic}. Idempotent. */
  CompletionStage<Void> unsubscribe(String topic);

  /**
   * Forwards a client frame of a type the gateway does not handle itself to backend services.
   * Optional: the default reports {@link BrokerException.Reason#UNSUPPORTED}.
   *
   * @param type the frame's {@code type}, which backends may route on
   * @param frame the client's frame as it arrived (UTF-8 JSON)
   * @param headers who sent it: user id, connection id, instance id
   */
  default CompletionStage<Void> forwardUpstream(String type, byte[] frame, Map<String, String> headers) {
    return java.util.concurrent.CompletableFuture.failedFuture(
        new BrokerException(BrokerException.Reason.UNSUPPORTED, "upstream forwarding is not supported by this broker"));
  }

  /** Detaches: stops consuming the inbox and topics. The inbox itself may outlive it briefly. Idempotent. */
  CompletionStage<Void> close();
}
