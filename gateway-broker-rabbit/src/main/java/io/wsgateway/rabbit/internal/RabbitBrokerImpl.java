package io.wsgateway.rabbit.internal;

import com.rabbitmq.client.Address;
import com.rabbitmq.client.ConnectionFactory;
import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.BrokerException;
import io.wsgateway.broker.EnvelopeHandler;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.rabbit.RabbitBrokerOptions;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RabbitMQ broker: holds the options and the attached endpoints, each of which owns its own AMQP
 * connection. Thread-safe.
 */
public final class RabbitBrokerImpl implements MessageBroker {

  private static final Logger log = LoggerFactory.getLogger(RabbitBrokerImpl.class);

  /** The client-provided connection name is this prefix and the instance id, to find it in the server's tools. */
  static final String CONNECTION_NAME_PREFIX = "wsgateway-";

  private final RabbitBrokerOptions options;
  private final Topology topology;
  private final IngressMessages ingress;
  // Concurrent because attach, an endpoint's close and the broker's close may run on different threads.
  private final Map<String, RabbitEndpoint> endpoints = new ConcurrentHashMap<>();
  private volatile boolean closed;

  public RabbitBrokerImpl(RabbitBrokerOptions options) {
    this.options = options;
    this.topology = new Topology(options.exchangePrefix());
    this.ingress = new IngressMessages(options.ingressMaxMessageBytes());
    log.debug("RabbitMQ broker created: {}", options);
  }

  @Override
  public CompletionStage<BrokerEndpoint> attach(String instanceId, EnvelopeHandler handler) {
    Objects.requireNonNull(handler, "handler");
    if (closed) {
      return CompletableFuture.failedFuture(new BrokerException(BrokerException.Reason.CLOSED, "broker closed"));
    }
    try {
      Topology.checkName("instanceId", instanceId);
      Topology.checkName("inbox queue name", topology.inboxQueue(instanceId));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    RabbitEndpoint endpoint = new RabbitEndpoint(this, instanceId, handler);
    RabbitEndpoint previous = endpoints.put(instanceId, endpoint);
    if (previous != null) {
      // Re-attaching replaces: two consumers on one inbox would split its envelopes between them.
      log.info("instance {} attached again; closing its previous endpoint", instanceId);
      previous.close();
    }
    if (closed) {
      endpoint.close();
    }
    return endpoint.start();
  }

  RabbitBrokerOptions options() {
    return options;
  }

  Topology topology() {
    return topology;
  }

  IngressMessages ingress() {
    return ingress;
  }

  void removed(RabbitEndpoint endpoint) {
    endpoints.remove(endpoint.instanceId(), endpoint);
  }

  /** A connection factory for one instance's connection, with recovery on. */
  ConnectionFactory connectionFactory() throws Exception {
    ConnectionFactory factory = new ConnectionFactory();
    String uri = options.uri();
    URI parsed = new URI(uri);
    boolean tls = "amqps".equalsIgnoreCase(parsed.getScheme());
    // Configure TLS ourselves: ConnectionFactory.setUri("amqps://...") would trust every certificate.
    factory.setUri(tls ? "amqp" + uri.substring("amqps".length()) : uri);
    if (tls) {
      if (parsed.getPort() == -1) {
        factory.setPort(ConnectionFactory.DEFAULT_AMQP_OVER_SSL_PORT);
      }
      factory.useSslProtocol(SSLContext.getDefault());
      factory.enableHostnameVerification();
    }
    factory.setAutomaticRecoveryEnabled(true);
    factory.setTopologyRecoveryEnabled(true);
    factory.setNetworkRecoveryInterval(options.recoveryInterval().toMillis());
    int timeoutMillis = (int) options.publishTimeout().toMillis();
    // No RPC may hold the publisher thread longer than any stage may take.
    factory.setConnectionTimeout(timeoutMillis);
    factory.setHandshakeTimeout(timeoutMillis);
    factory.setChannelRpcTimeout(timeoutMillis);
    factory.setShutdownTimeout(0);
    return factory;
  }

  /** The cluster addresses from the options, or {@code null} to use the URI's host. */
  List<Address> addresses() {
    if (options.addresses().isEmpty()) {
      return null;
    }
    List<Address> addresses = new ArrayList<>();
    for (String address : options.addresses()) {
      addresses.add(Address.parseAddress(address));
    }
    return addresses;
  }

  /**
   * Closes every endpoint and waits for them, at most twice the publish timeout plus a second: each
   * waits up to the publish timeout for its ingress in flight, then as long for its last confirms.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<CompletableFuture<Void>> closing = new ArrayList<>();
    for (RabbitEndpoint endpoint : endpoints.values()) {
      closing.add(endpoint.close().toCompletableFuture());
    }
    try {
      CompletableFuture.allOf(closing.toArray(new CompletableFuture<?>[0]))
          .get(2 * options.publishTimeout().toMillis() + 1_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.warn("RabbitMQ broker: endpoints did not close cleanly", e);
    }
  }
}
