package io.wsgateway.broker;

import java.util.concurrent.CompletionStage;

/**
 * Carries {@link Envelope}s between gateway instances: to one instance's inbox, or to every instance
 * that has local subscribers of a topic.
 *
 * <p>Implementations are thread-safe; one broker may serve several gateways in the same JVM. No
 * method may block the caller: work that waits on I/O completes the returned stage later. The owner
 * that created the broker closes it, after the gateways that use it have closed their endpoints.
 */
public interface MessageBroker extends AutoCloseable {

  /**
   * Attaches a gateway instance: creates (or re-creates) its inbox and starts delivering what arrives
   * there, and on the topics it subscribes to, to {@code handler}.
   *
   * @param instanceId the unique id of the attaching instance, also the address other instances send to
   * @param handler receives envelopes; called on broker threads, must not block
   * @return the instance's endpoint once its inbox is ready to receive
   */
  CompletionStage<BrokerEndpoint> attach(String instanceId, EnvelopeHandler handler);

  /** Releases the broker's resources. Endpoints still attached stop receiving. Idempotent. */
  @Override
  default void close() {}
}
