package io.wsgateway.rabbit.internal;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.wsgateway.broker.EnvelopeHandler;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * What the ordered ingress ({@link IngressSplitter}, {@link IngressPartitions}) needs from its
 * endpoint, and nothing more. Implemented by {@link RabbitEndpoint}; every method may be called from
 * any thread and never blocks on the network, except {@link #newChannel()}.
 */
interface IngressHost {

  /** The attached instance, for logs and consumer tags. */
  String instanceId();

  /** Where ingress envelopes go. */
  EnvelopeHandler handler();

  /** Parses and bounds ingress bodies. */
  IngressMessages parser();

  /** A new channel on the instance's connection (a blocking RPC; called on io or a timer). */
  Channel newChannel() throws IOException;

  /**
   * Publishes a copy of a consumed message to {@code queue} with publisher confirms, through the
   * endpoint's publisher (bounded, timed out, recovered like any publish).
   */
  CompletionStage<Void> copy(String queue, AMQP.BasicProperties props, byte[] body, Map<String, Object> headers);

  /**
   * Moves a message to the ingress dead-letter queue with {@code reason}, then acknowledges it on
   * {@code channel}; {@code settled} runs once it is settled either way.
   */
  void deadLetter(Channel channel, long deliveryTag, AMQP.BasicProperties props, byte[] body, String queue, String reason,
      Runnable settled);

  /** Runs {@code task} after {@code delayMillis} on the endpoint's io thread; false once it is shut down. */
  boolean schedule(Runnable task, long delayMillis);
}
