package io.wsgateway.rabbit.internal;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AlreadyClosedException;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Recoverable;
import com.rabbitmq.client.RecoveryListener;
import com.rabbitmq.client.Return;
import com.rabbitmq.client.ShutdownSignalException;
import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.BrokerException;
import io.wsgateway.broker.BrokerException.Reason;
import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.EnvelopeCodec;
import io.wsgateway.broker.EnvelopeHandler;
import io.wsgateway.rabbit.RabbitBrokerOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attached instance: its AMQP connection, a publisher channel in confirm mode, an admin channel
 * for bindings, and a consumer channel on its inbox and the shared ingress queue.
 *
 * <p>Threading: channels are not thread-safe, so everything that touches the publisher and admin
 * channels, and all publishing state, is confined to one thread, {@code io}. Callers only append to a
 * lock-free submission queue and wake {@code io}; confirms, returns and connection events are handed to
 * {@code io} in the order the client reports them. Every stage completes on {@code io}. Deliveries run
 * on the client's consumer threads, in order per channel.
 */
final class RabbitEndpoint implements BrokerEndpoint, IngressHost {

  private static final Logger log = LoggerFactory.getLogger(RabbitEndpoint.class);

  /** The content type of broker messages that carry an {@link EnvelopeCodec} batch. */
  static final String BATCH_CONTENT_TYPE = "application/vnd.wsgateway.batch";
  private static final int TRANSIENT = 1;
  private static final int PERSISTENT = 2;

  private final RabbitBrokerImpl broker;
  private final RabbitBrokerOptions options;
  private final Topology topology;
  private final String instanceId;
  private final String inboxQueue;
  private final EnvelopeHandler handler;
  private final ScheduledThreadPoolExecutor io;
  private final long timeoutNanos;
  private final long lingerNanos;

  private final ConcurrentLinkedQueue<Pending> submissions = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  /** Envelopes accepted and not yet completed: what maxPendingPublishes bounds. */
  private final AtomicInteger pending = new AtomicInteger();
  /** Their bytes ({@link Pending#size}): what maxPendingPublishBytes bounds. */
  private final java.util.concurrent.atomic.AtomicLong pendingBytes = new java.util.concurrent.atomic.AtomicLong();
  private final AtomicBoolean closing = new AtomicBoolean();
  /** Set first by close(): ingress stops and drains while sends still work, then closing is set. */
  private final AtomicBoolean closeRequested = new AtomicBoolean();
  private final IngressSplitter splitter;
  private final IngressPartitions partitions;
  private final CompletableFuture<BrokerEndpoint> attached = new CompletableFuture<>();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private final RecentMessages recent;
  /** Written on io; read by callers to choose between UNAVAILABLE and OVERLOADED. */
  private volatile boolean connected;

  // Confined to io.
  private Connection connection;
  private Channel publisher;
  private Channel admin;
  private Channel consumer;
  /** Consumes the orphans queue on its own channel: its liveness probes block only this channel. */
  private Channel orphans;
  private boolean legacyIngress;
  private long epoch;
  private boolean finished;
  private final Map<Dest, DestState> destinations = new LinkedHashMap<>();
  private final NavigableMap<Long, Published> unconfirmed = new TreeMap<>();
  private final Set<String> subscriptions = new HashSet<>();

  RabbitEndpoint(RabbitBrokerImpl broker, String instanceId, EnvelopeHandler handler) {
    this.broker = broker;
    this.options = broker.options();
    this.topology = broker.topology();
    this.instanceId = instanceId;
    this.inboxQueue = topology.inboxQueue(instanceId);
    this.handler = handler;
    this.timeoutNanos = options.publishTimeout().toNanos();
    this.lingerNanos = options.batchLinger().toNanos();
    this.recent = new RecentMessages(Math.max(1_024, options.prefetch() * 4));
    this.io = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "wsgateway-rabbit-" + instanceId);
      t.setDaemon(true);
      return t;
    });
    io.setRemoveOnCancelPolicy(true);
    io.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    long closeTimeout = options.publishTimeout().toMillis();
    long reopen = options.recoveryInterval().toMillis();
    this.splitter = new IngressSplitter(this, topology, options.ingressPartitions(), options.prefetch(), reopen, closeTimeout);
    this.partitions = new IngressPartitions(this, topology, options.ingressPartitions(), options.prefetch(),
        options.ingressMaxAttempts(), options.ingressRetryDelay().toMillis(), reopen, closeTimeout);
  }

  @Override
  public String instanceId() {
    return instanceId;
  }

  // ---------------------------------------------------------------- IngressHost

  @Override
  public EnvelopeHandler handler() {
    return handler;
  }

  @Override
  public IngressMessages parser() {
    return broker.ingress();
  }

  @Override
  public Channel newChannel() throws IOException {
    Channel channel = connection.createChannel();
    if (channel == null) {
      throw new IOException("no channel available on the connection of " + instanceId);
    }
    return channel;
  }

  @Override
  public CompletionStage<Void> copy(String queue, AMQP.BasicProperties props, byte[] body, Map<String, Object> headers) {
    return submitCopy(queue, props, body, headers);
  }

  @Override
  public boolean schedule(Runnable task, long delayMillis) {
    try {
      io.schedule(() -> {
        try {
          task.run();
        } catch (RuntimeException e) {
          log.error("instance {}: unexpected failure on the publisher thread", instanceId, e);
        }
      }, delayMillis, TimeUnit.MILLISECONDS);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  // ---------------------------------------------------------------- attach

  CompletionStage<BrokerEndpoint> start() {
    if (!runOnIo(this::connect)) {
      attached.completeExceptionally(closedException());
    }
    return attached;
  }

  private void connect() {
    if (closing.get()) {
      attached.completeExceptionally(closedException());
      return;
    }
    try {
      ConnectionFactory factory = broker.connectionFactory();
      String name = RabbitBrokerImpl.CONNECTION_NAME_PREFIX + instanceId;
      connection = broker.addresses() == null
          ? factory.newConnection(name)
          : factory.newConnection(broker.addresses(), name);
      ((Recoverable) connection).addRecoveryListener(new RecoveryListener() {
        @Override
        public void handleRecoveryStarted(Recoverable recoverable) {
          runOnIo(() -> onDisconnected("connection recovery started"));
        }

        @Override
        public void handleRecovery(Recoverable recoverable) {
          runOnIo(RabbitEndpoint.this::onRecovered);
        }
      });
      admin = connection.createChannel();
      declareTopology(admin);
      openPublisher();
      consumer = connection.createChannel();
      consumer.basicQos(options.prefetch());
      consumer.basicConsume(inboxQueue, false, "inbox-" + instanceId, new InboxConsumer(consumer));
      if (legacyIngressQueueExists()) {
        // Left by a version that consumed ingress unordered: no longer fed (unbound), and drained.
        admin.queueUnbind(topology.ingressQueue, topology.ingressExchange, "");
        consumer.basicConsume(topology.ingressQueue, false, "ingress-" + instanceId, new IngressConsumer(consumer));
        legacyIngress = true;
      }
      partitions.start();
      splitter.start();
      orphans = connection.createChannel();
      orphans.basicQos(Math.max(1, options.prefetch() / 4));
      orphans.basicConsume(topology.orphansQueue, false, "orphans-" + instanceId, new OrphanConsumer(orphans));
      connected = true;
      long sweepMillis = Math.max(10, Math.min(100, options.publishTimeout().toMillis() / 10));
      io.scheduleWithFixedDelay(this::sweepExpired, sweepMillis, sweepMillis, TimeUnit.MILLISECONDS);
      log.info("instance {} attached to RabbitMQ: inbox {}", instanceId, inboxQueue);
      attached.complete(this);
    } catch (Exception e) {
      log.warn("instance {} could not attach to RabbitMQ", instanceId, e);
      closeConnectionQuietly();
      closing.set(true);
      finish();
      attached.completeExceptionally(e instanceof BrokerException ? e
          : new BrokerException(Reason.UNAVAILABLE, "RabbitMQ unreachable: " + e, e));
    }
  }

  private void declareTopology(Channel channel) throws IOException {
    channel.exchangeDeclare(topology.inboxExchange, BuiltinExchangeType.DIRECT, true, false, null);
    channel.exchangeDeclare(topology.topicsExchange, BuiltinExchangeType.DIRECT, true, false, null);
    channel.exchangeDeclare(topology.ingressExchange, BuiltinExchangeType.FANOUT, true, false, null);
    if (options.upstreamEnabled()) {
      channel.exchangeDeclare(topology.upstreamExchange, BuiltinExchangeType.TOPIC, true, false, null);
    }
    // Ingress: the exchange feeds the split queue, whose one active consumer moves each message to its
    // recipient's partition queue, each with one active consumer: per-recipient order (see
    // IngressSplitter, IngressPartitions). Both dead-letter to the ingress dead-letter queue.
    Map<String, Object> orderedArgs = new HashMap<>();
    orderedArgs.put("x-queue-type", options.ingressQueueType().name().toLowerCase(java.util.Locale.ROOT));
    orderedArgs.put("x-single-active-consumer", true);
    orderedArgs.put("x-dead-letter-exchange", "");
    orderedArgs.put("x-dead-letter-routing-key", topology.ingressDeadLetterQueue);
    channel.queueDeclare(topology.ingressSplitQueue, true, false, false, orderedArgs);
    channel.queueBind(topology.ingressSplitQueue, topology.ingressExchange, "");
    for (int i = 0; i < options.ingressPartitions(); i++) {
      channel.queueDeclare(topology.ingressPartition(i), true, false, false, orderedArgs);
    }
    Map<String, Object> deadLetterArgs = new HashMap<>();
    deadLetterArgs.put("x-max-length", options.deadLetterMaxMessages());
    deadLetterArgs.put("x-max-length-bytes", options.deadLetterMaxBytes());
    channel.queueDeclare(topology.ingressDeadLetterQueue, true, false, false, deadLetterArgs);
    channel.queueDeclare(topology.orphansQueue, true, false, false,
        Map.of("x-message-ttl", (int) Math.min(Integer.MAX_VALUE, options.orphanRetention().toMillis())));
    Map<String, Object> inboxArgs = new HashMap<>();
    // Not exclusive and not auto-delete: the inbox must survive a brief disconnect; x-expires removes
    // it once its instance has been gone for inboxExpiry.
    inboxArgs.put("x-expires", (int) options.inboxExpiry().toMillis());
    // What waits longer than orphanAfter (its instance crashed) moves to the shared orphans queue,
    // where the live instances route it again.
    inboxArgs.put("x-message-ttl", (int) options.orphanAfter().toMillis());
    inboxArgs.put("x-dead-letter-exchange", "");
    inboxArgs.put("x-dead-letter-routing-key", topology.orphansQueue);
    channel.queueDeclare(inboxQueue, false, false, false, inboxArgs);
    channel.queueBind(inboxQueue, topology.inboxExchange, instanceId);
  }

  /** Whether the shared ingress queue of earlier versions exists (a passive declare, on a channel of its own). */
  private boolean legacyIngressQueueExists() {
    try (Channel probe = connection.createChannel()) {
      probe.queueDeclarePassive(topology.ingressQueue);
      return true;
    } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException absent) {
      return false;
    }
  }

  private void openPublisher() throws IOException {
    Channel channel = connection.createChannel();
    channel.confirmSelect();
    channel.addConfirmListener(
        (tag, multiple) -> runOnIo(() -> onConfirm(channel, tag, multiple, true)),
        (tag, multiple) -> runOnIo(() -> onConfirm(channel, tag, multiple, false)));
    channel.addReturnListener(returned -> runOnIo(() -> onReturn(returned)));
    channel.addShutdownListener(cause -> runOnIo(() -> onPublisherShutdown(channel, cause)));
    publisher = channel;
    epoch++;
  }

  // ---------------------------------------------------------------- SPI

  @Override
  public CompletionStage<Void> sendToInstance(String target, Envelope envelope) {
    try {
      Topology.checkName("instanceId", target);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return submit(new Dest(topology.inboxExchange, target, true, false), envelope, null, null);
  }

  @Override
  public CompletionStage<Void> publish(String topic, Envelope envelope) {
    try {
      Topology.checkName("topic", topic);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    // Not mandatory: a topic nobody subscribes to is not an error.
    return submit(new Dest(topology.topicsExchange, topic, false, false), envelope, null, null);
  }

  @Override
  public CompletionStage<Void> forwardUpstream(String type, byte[] frame, Map<String, String> headers) {
    if (!options.upstreamEnabled()) {
      return BrokerEndpoint.super.forwardUpstream(type, frame, headers);
    }
    try {
      Topology.checkName("type", type);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    Map<String, Object> amqpHeaders = new HashMap<>(headers);
    amqpHeaders.putIfAbsent("instance_id", instanceId);
    // Mandatory: a frame type no backend binds is reported as NO_ROUTE instead of vanishing.
    return submit(new Dest(topology.upstreamExchange, type, true, true), null, frame.clone(), amqpHeaders);
  }

  @Override
  public CompletionStage<Void> subscribe(String topic) {
    return topologyChange(topic, true);
  }

  @Override
  public CompletionStage<Void> unsubscribe(String topic) {
    return topologyChange(topic, false);
  }

  private CompletionStage<Void> topologyChange(String topic, boolean subscribe) {
    if (closing.get()) {
      return subscribe ? CompletableFuture.failedFuture(closedException()) : CompletableFuture.completedFuture(null);
    }
    try {
      Topology.checkName("topic", topic);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    boolean queued = runOnIo(() -> {
      if (finished) {
        done.completeExceptionally(closedException());
        return;
      }
      boolean changed = subscribe ? subscriptions.add(topic) : subscriptions.remove(topic);
      if (!changed) {
        done.complete(null);
        return;
      }
      try {
        if (!connected) {
          throw new BrokerException(Reason.UNAVAILABLE, "RabbitMQ connection lost; try again after recovery");
        }
        if (subscribe) {
          admin().queueBind(inboxQueue, topology.topicsExchange, topic);
        } else {
          admin().queueUnbind(inboxQueue, topology.topicsExchange, topic);
        }
        done.complete(null);
      } catch (Exception e) {
        if (subscribe) {
          subscriptions.remove(topic);
        } else {
          subscriptions.add(topic);
        }
        done.completeExceptionally(e instanceof BrokerException ? e
            : new BrokerException(Reason.UNAVAILABLE, (subscribe ? "subscribe " : "unsubscribe ") + topic + " failed: " + e, e));
      }
    });
    if (!queued) {
      done.completeExceptionally(closedException());
    }
    return done;
  }

  private Channel admin() throws IOException {
    // A channel error (a rare refused binding) closes only this channel; open another for the next change.
    if (admin == null || !admin.isOpen()) {
      admin = connection.createChannel();
    }
    return admin;
  }

  @Override
  public CompletionStage<Void> close() {
    if (closeRequested.compareAndSet(false, true)) {
      // Ingress first, while sends still work: the stages in flight route through this endpoint, and
      // partitions go to the next instance only once they completed (or the close timeout passed).
      CompletableFuture.allOf(splitter.close(), partitions.close()).whenComplete((v, e) -> {
        closing.set(true);
        if (!runOnIo(this::shutdown)) {
          closed.complete(null);
        }
      });
    }
    return closed;
  }

  // ---------------------------------------------------------------- publishing (io thread)

  private CompletionStage<Void> submit(Dest dest, Envelope envelope, byte[] raw, Map<String, Object> headers) {
    return submit(dest, envelope, raw, headers, null);
  }

  private CompletionStage<Void> submit(Dest dest, Envelope envelope, byte[] raw, Map<String, Object> headers,
      AMQP.BasicProperties copyOf) {
    if (closing.get()) {
      return CompletableFuture.failedFuture(closedException());
    }
    if (envelope != null) {
      try {
        // Refused here, alone: once batched, an envelope the codec cannot carry would fail its batch.
        EnvelopeCodec.checkEncodable(envelope);
      } catch (IllegalArgumentException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    if (pending.incrementAndGet() > options.maxPendingPublishes()) {
      pending.decrementAndGet();
      return CompletableFuture.failedFuture(connected
          ? new BrokerException(Reason.OVERLOADED, "more than " + options.maxPendingPublishes() + " envelopes unconfirmed")
          : new BrokerException(Reason.UNAVAILABLE, "RabbitMQ unreachable and the outage buffer is full ("
              + options.maxPendingPublishes() + " envelopes)"));
    }
    Pending p = new Pending(dest, envelope, raw, headers, copyOf, System.nanoTime() + timeoutNanos);
    if (pendingBytes.addAndGet(p.size) > options.maxPendingPublishBytes()) {
      pendingBytes.addAndGet(-p.size);
      pending.decrementAndGet();
      return CompletableFuture.failedFuture(connected
          ? new BrokerException(Reason.OVERLOADED, "more than " + options.maxPendingPublishBytes()
              + " bytes of envelopes unconfirmed")
          : new BrokerException(Reason.UNAVAILABLE, "RabbitMQ unreachable and the outage buffer is full ("
              + options.maxPendingPublishBytes() + " bytes)"));
    }
    submissions.add(p);
    if (drainScheduled.compareAndSet(false, true) && !runOnIo(this::drain)) {
      failSubmissions();
    }
    return p.future;
  }

  /** Moves what callers submitted into per-destination queues and publishes what is ready. */
  private void drain() {
    drainScheduled.set(false);
    if (finished) {
      failSubmissions();
      return;
    }
    List<DestState> touched = new ArrayList<>();
    Pending p;
    while ((p = submissions.poll()) != null) {
      DestState state = destinations.computeIfAbsent(p.dest, DestState::new);
      if (state.queue.isEmpty()) {
        touched.add(state);
      }
      state.queue.add(p);
      state.queuedBytes += p.size;
    }
    for (DestState state : touched) {
      flush(state, false);
    }
  }

  /**
   * Publishes {@code state}'s queue as batches. A full batch goes at once; a partial batch goes at
   * once when nothing is in flight to its destination (so a lone envelope never waits), and otherwise
   * waits until the in-flight publish is confirmed or the linger passes, gathering what arrives meanwhile.
   */
  private void flush(DestState state, boolean force) {
    while (connected && !state.queue.isEmpty()) {
      boolean full = state.dest.raw
          || state.queue.size() >= options.batchMaxEnvelopes()
          || state.queuedBytes >= options.batchMaxBytes();
      if (!full && !force && state.inFlight > 0 && lingerNanos > 0) {
        if (state.linger == null) {
          state.linger = io.schedule(() -> {
            state.linger = null;
            flush(state, true);
          }, lingerNanos, TimeUnit.NANOSECONDS);
        }
        return;
      }
      List<Pending> chunk = new ArrayList<>(Math.min(state.queue.size(), options.batchMaxEnvelopes()));
      long bytes = 0;
      while (!state.queue.isEmpty() && chunk.size() < (state.dest.raw ? 1 : options.batchMaxEnvelopes())) {
        Pending next = state.queue.peek();
        if (!chunk.isEmpty() && bytes + next.size > options.batchMaxBytes()) {
          break;
        }
        state.queue.poll();
        state.queuedBytes -= next.size;
        bytes += next.size;
        chunk.add(next);
      }
      if (!publish(state, chunk)) {
        return;
      }
    }
    if (state.queue.isEmpty() && state.linger != null) {
      state.linger.cancel(false);
      state.linger = null;
    }
    forgetIfIdle(state);
  }

  private boolean publish(DestState state, List<Pending> chunk) {
    Dest dest = state.dest;
    long seq = publisher.getNextPublishSeqNo();
    // The message id names this endpoint's channel epoch and the confirm sequence number: returns are
    // matched to their batch by it, and consumers recognise a redelivered message by it.
    String messageId = instanceId + "/" + epoch + "/" + seq;
    byte[] body;
    AMQP.BasicProperties.Builder props = new AMQP.BasicProperties.Builder().messageId(messageId).appId(instanceId);
    if (dest.raw) {
      Pending only = chunk.get(0);
      body = only.raw;
      if (only.copyOf != null) {
        // Our message id (returns are matched by it); the original's, if any, in a header.
        Map<String, Object> headers = new HashMap<>(only.headers);
        if (only.copyOf.getMessageId() != null) {
          headers.putIfAbsent(ORIGINAL_MESSAGE_ID_HEADER, only.copyOf.getMessageId());
        }
        props = only.copyOf.builder().messageId(messageId).headers(headers);
      } else if (dest.exchange.equals(topology.inboxExchange)) {
        // A batch sent back to a live instance that fell behind (see OrphanConsumer).
        props.contentType(BATCH_CONTENT_TYPE).headers(only.headers).deliveryMode(TRANSIENT);
      } else {
        props.contentType("application/json").type(dest.routingKey).headers(only.headers).deliveryMode(PERSISTENT);
      }
    } else {
      List<Envelope> envelopes = new ArrayList<>(chunk.size());
      for (Pending p : chunk) {
        envelopes.add(p.envelope);
      }
      try {
        body = EnvelopeCodec.encode(envelopes);
      } catch (RuntimeException e) {
        // Unreachable while submit checks every envelope; if it ever happens, fail this chunk's stages
        // (returning their permits) rather than lose them on this thread.
        log.error("instance {}: could not encode a batch of {} envelope(s)", instanceId, chunk.size(), e);
        failAll(chunk, e);
        return true;
      }
      // Transient: inboxes are not durable, and an envelope outliving an outage would be stale anyway.
      props.contentType(BATCH_CONTENT_TYPE).deliveryMode(TRANSIENT);
    }
    try {
      publisher.basicPublish(dest.exchange, dest.routingKey, dest.mandatory, props.build(), body);
    } catch (IllegalArgumentException e) {
      // Refused by the client before sending (not a connection problem): fail this chunk alone.
      log.warn("instance {}: publish to {} refused by the client: {}", instanceId, dest, e.toString());
      failAll(chunk, e);
      return true;
    } catch (IOException | AlreadyClosedException e) {
      // Not sent: keep the chunk at the head of its queue, in order, for after recovery.
      log.debug("instance {}: publish failed, buffering until recovery", instanceId, e);
      for (int i = chunk.size() - 1; i >= 0; i--) {
        state.queue.addFirst(chunk.get(i));
        state.queuedBytes += chunk.get(i).size;
      }
      connected = false;
      return false;
    }
    unconfirmed.put(seq, new Published(state, chunk));
    state.inFlight++;
    return true;
  }

  private void onConfirm(Channel channel, long tag, boolean multiple, boolean ack) {
    if (channel != publisher) {
      return;
    }
    List<Published> done = new ArrayList<>();
    if (multiple) {
      NavigableMap<Long, Published> head = unconfirmed.headMap(tag, true);
      done.addAll(head.values());
      head.clear();
    } else {
      Published one = unconfirmed.remove(tag);
      if (one != null) {
        done.add(one);
      }
    }
    Set<DestState> affected = new HashSet<>();
    for (Published published : done) {
      published.state.inFlight--;
      affected.add(published.state);
      if (!ack) {
        failAll(published.items, new BrokerException(Reason.UNAVAILABLE, "RabbitMQ refused the message (nack)"));
      } else if (published.returned != null) {
        failAll(published.items, new BrokerException(Reason.NO_ROUTE,
            "no inbox for instance " + published.state.dest.routingKey + " (" + published.returned + ")"));
      } else {
        for (Pending p : published.items) {
          complete(p);
        }
      }
    }
    for (DestState state : affected) {
      if (state.inFlight == 0) {
        flush(state, true);
      } else {
        forgetIfIdle(state);
      }
    }
  }

  private void onReturn(Return returned) {
    // RabbitMQ sends basic.return before the basic.ack of the same message, so the ack sees this mark.
    String id = returned.getProperties().getMessageId();
    String expectedPrefix = instanceId + "/" + epoch + "/";
    if (id == null || !id.startsWith(expectedPrefix)) {
      return;
    }
    try {
      Published published = unconfirmed.get(Long.parseLong(id.substring(expectedPrefix.length())));
      if (published != null) {
        published.returned = returned.getReplyCode() + " " + returned.getReplyText();
      }
    } catch (NumberFormatException ignored) {
      // Not one of ours.
    }
  }

  private void onPublisherShutdown(Channel channel, ShutdownSignalException cause) {
    if (channel != publisher || closing.get()) {
      return;
    }
    onDisconnected("publisher channel closed: " + cause.getMessage());
    if (!cause.isHardError() && connection != null && connection.isOpen()) {
      // A channel-level error does not trigger recovery; reopen the channel ourselves.
      try {
        openPublisher();
        onRecovered();
      } catch (IOException | RuntimeException e) {
        log.warn("instance {}: could not reopen the publisher channel", instanceId, e);
      }
    }
  }

  /**
   * The connection is gone. What was published but not confirmed may or may not have arrived, and the
   * recovered channel numbers its confirms afresh: fail those stages with UNAVAILABLE rather than risk
   * duplicates. What is still buffered is sent after recovery.
   */
  private void onDisconnected(String why) {
    if (finished) {
      return;
    }
    if (connected) {
      log.warn("instance {}: RabbitMQ connection lost ({}); buffering publishes", instanceId, why);
    }
    connected = false;
    if (!unconfirmed.isEmpty()) {
      BrokerException lost = new BrokerException(Reason.UNAVAILABLE,
          "RabbitMQ connection lost before the publish was confirmed; it may or may not have been delivered");
      for (Published published : unconfirmed.values()) {
        failAll(published.items, lost);
      }
      unconfirmed.clear();
    }
    for (DestState state : destinations.values()) {
      state.inFlight = 0;
    }
  }

  private void onRecovered() {
    if (finished || closing.get() || connected) {
      return;
    }
    if (connection == null || !connection.isOpen() || publisher == null || !publisher.isOpen()) {
      return;
    }
    epoch++;
    connected = true;
    log.info("instance {}: RabbitMQ connection recovered; sending buffered publishes", instanceId);
    for (DestState state : new ArrayList<>(destinations.values())) {
      flush(state, true);
    }
  }

  /** Fails every stage older than publishTimeout, buffered or awaiting its confirm. */
  private void sweepExpired() {
    long now = System.nanoTime();
    BrokerException timedOut = new BrokerException(Reason.UNAVAILABLE,
        "not confirmed by RabbitMQ within " + options.publishTimeout());
    for (Iterator<Published> it = unconfirmed.values().iterator(); it.hasNext(); ) {
      Published published = it.next();
      if (now - published.items.get(0).deadline > 0) {
        it.remove();
        published.state.inFlight--;
        failAll(published.items, timedOut);
        if (published.state.inFlight == 0) {
          flush(published.state, true);
        }
      }
    }
    for (DestState state : new ArrayList<>(destinations.values())) {
      while (!state.queue.isEmpty() && now - state.queue.peek().deadline > 0) {
        Pending p = state.queue.poll();
        state.queuedBytes -= p.size;
        fail(p, connected ? timedOut : new BrokerException(Reason.UNAVAILABLE,
            "RabbitMQ unreachable for longer than " + options.publishTimeout()));
      }
      forgetIfIdle(state);
    }
  }

  private void forgetIfIdle(DestState state) {
    if (state.queue.isEmpty() && state.inFlight <= 0 && state.linger == null) {
      destinations.remove(state.dest, state);
    }
  }

  private void complete(Pending p) {
    release(p);
    p.future.complete(null);
  }

  private void fail(Pending p, Throwable cause) {
    release(p);
    p.future.completeExceptionally(cause);
  }

  /** Returns {@code p}'s permits: its count and its bytes. Exactly once per accepted Pending. */
  private void release(Pending p) {
    pending.decrementAndGet();
    pendingBytes.addAndGet(-p.size);
  }

  private void failAll(List<Pending> items, Throwable cause) {
    for (Pending p : items) {
      fail(p, cause);
    }
  }

  private void failSubmissions() {
    Pending p;
    while ((p = submissions.poll()) != null) {
      fail(p, closedException());
    }
  }

  // ---------------------------------------------------------------- close (io thread)

  private void shutdown() {
    if (connection != null && connected) {
      drain();
      for (DestState state : new ArrayList<>(destinations.values())) {
        flush(state, true);
      }
      try {
        consumer.basicCancel("inbox-" + instanceId);
        if (legacyIngress) {
          consumer.basicCancel("ingress-" + instanceId);
        }
        orphans.basicCancel("orphans-" + instanceId);
      } catch (IOException | RuntimeException e) {
        log.debug("instance {}: cancelling consumers failed", instanceId, e);
      }
      try {
        publisher.waitForConfirms(options.publishTimeout().toMillis());
      } catch (Exception e) {
        log.debug("instance {}: not every publish was confirmed before close", instanceId, e);
      }
      try {
        // Deleting the inbox makes later sends to this instance fail with NO_ROUTE instead of
        // collecting in a queue nobody reads until it expires. Only if empty: what is still in it
        // (sent during the last moments) is rescued through the orphans queue instead.
        admin().queueDelete(inboxQueue, false, true);
      } catch (IOException | RuntimeException e) {
        log.debug("instance {}: deleting inbox {} failed; it expires after {}", instanceId, inboxQueue, options.inboxExpiry(), e);
      }
    }
    closeConnectionQuietly();
    // Confirms that arrived while waiting were queued behind this task: settle them first.
    if (!runOnIo(this::finish)) {
      finish();
    }
  }

  private void closeConnectionQuietly() {
    if (connection != null) {
      try {
        connection.close((int) Math.min(Integer.MAX_VALUE, options.publishTimeout().toMillis()));
      } catch (IOException | RuntimeException e) {
        log.debug("instance {}: closing the connection failed", instanceId, e);
      }
    }
  }

  /** Fails whatever is left with CLOSED and stops the io thread. */
  private void finish() {
    if (finished) {
      return;
    }
    finished = true;
    connected = false;
    BrokerException closedException = closedException();
    for (Published published : unconfirmed.values()) {
      failAll(published.items, closedException);
    }
    unconfirmed.clear();
    for (DestState state : destinations.values()) {
      for (Pending p : state.queue) {
        fail(p, closedException);
      }
      if (state.linger != null) {
        state.linger.cancel(false);
      }
    }
    destinations.clear();
    io.shutdown();
    failSubmissions();
    broker.removed(this);
    closed.complete(null);
    log.info("instance {} detached from RabbitMQ", instanceId);
  }

  private BrokerException closedException() {
    return new BrokerException(Reason.CLOSED, "endpoint " + instanceId + " closed");
  }

  /** Runs {@code task} on io, logging what it throws; false if io no longer takes tasks. */
  private boolean runOnIo(Runnable task) {
    try {
      io.execute(() -> {
        try {
          task.run();
        } catch (RuntimeException e) {
          log.error("instance {}: unexpected failure on the publisher thread", instanceId, e);
        }
      });
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  // ---------------------------------------------------------------- consuming (client threads)

  private final class InboxConsumer extends DefaultConsumer {
    InboxConsumer(Channel channel) {
      super(channel);
    }

    @Override
    public void handleDelivery(String tag, com.rabbitmq.client.Envelope delivery, AMQP.BasicProperties props, byte[] body)
        throws IOException {
      if (closing.get()) {
        // A closed endpoint receives nothing; the unacked message goes with its inbox.
        return;
      }
      String messageId = props.getMessageId();
      // A batch we handled but could not ack before a connection loss comes back redelivered: skip it.
      if (!recent.firstTime(messageId) && delivery.isRedeliver()) {
        log.debug("instance {}: skipping redelivered batch {}", instanceId, messageId);
        getChannel().basicAck(delivery.getDeliveryTag(), false);
        return;
      }
      List<Envelope> batch;
      try {
        batch = EnvelopeCodec.decode(body);
      } catch (IllegalArgumentException e) {
        log.warn("instance {}: rejecting a malformed batch {} ({} bytes, content type {}): {}",
            instanceId, messageId, body.length, props.getContentType(), e.getMessage());
        getChannel().basicReject(delivery.getDeliveryTag(), false);
        return;
      }
      CompletableFuture<Void> handled = handleEach(batch, handler::handle, true);
      if (handled == null) {
        return; // closing: the unacked batch goes with the inbox
      }
      // Acknowledge once every envelope of the batch is safely handled: if this process dies before,
      // RabbitMQ redelivers the batch instead of it being lost. If the handler could not handle one
      // (the registry or store failed), reject it without requeue: the inbox dead-letters it to the
      // orphans queue, so another instance tries (envelopes with ids are not delivered twice).
      Channel channel = getChannel();
      long deliveryTag = delivery.getDeliveryTag();
      handled.whenComplete((v, e) -> {
        try {
          if (e == null) {
            channel.basicAck(deliveryTag, false);
          } else {
            log.warn("instance {}: batch {} not handled, handing it to the orphans queue: {}", instanceId, messageId,
                e.toString());
            channel.basicReject(deliveryTag, false);
          }
        } catch (IOException | com.rabbitmq.client.AlreadyClosedException closed) {
          log.debug("instance {}: could not settle batch {}: {}", instanceId, messageId, closed.toString());
        }
      });
    }
  }

  private final class IngressConsumer extends DefaultConsumer {
    IngressConsumer(Channel channel) {
      super(channel);
    }

    @Override
    public void handleDelivery(String tag, com.rabbitmq.client.Envelope delivery, AMQP.BasicProperties props, byte[] body)
        throws IOException {
      if (closing.get()) {
        // Requeue: another instance takes it.
        getChannel().basicReject(delivery.getDeliveryTag(), true);
        return;
      }
      Envelope envelope;
      try {
        envelope = broker.ingress().parse(body);
      } catch (IllegalArgumentException e) {
        deadLetter(getChannel(), delivery.getDeliveryTag(), props, body, topology.ingressQueue, e.getMessage());
        return;
      }
      java.util.concurrent.CompletionStage<Void> routed;
      try {
        routed = handler.onIngress(envelope);
      } catch (RuntimeException e) {
        log.error("instance {}: ingress handler failed for {}", instanceId, envelope, e);
        getChannel().basicAck(delivery.getDeliveryTag(), false);
        return;
      }
      // Acknowledge only once routed: a message this instance could not route goes to another
      // consumer once (requeue), rather than being lost because this instance was stopping.
      Channel channel = getChannel();
      long deliveryTag = delivery.getDeliveryTag();
      boolean redelivered = delivery.isRedeliver();
      routed.whenComplete((v, error) -> {
        Throwable cause = unwrap(error);
        try {
          BrokerException.Reason reason = cause instanceof BrokerException be ? be.reason() : null;
          if (reason == BrokerException.Reason.UNAVAILABLE
              || (reason == BrokerException.Reason.NO_ROUTE && !redelivered)) {
            channel.basicReject(deliveryTag, true);
          } else {
            channel.basicAck(deliveryTag, false);
          }
        } catch (IOException | com.rabbitmq.client.AlreadyClosedException e) {
          // The channel closed: RabbitMQ requeues the unacknowledged message by itself.
          log.debug("instance {}: could not settle ingress message: {}", instanceId, e.toString());
        }
      });
    }
  }

  /**
   * Consumes the shared orphans queue: batches that waited too long in some instance's inbox. Each
   * envelope goes to the handler's {@link io.wsgateway.broker.EnvelopeHandler#onOrphan}, told whose
   * inbox it came from; the batch is acknowledged once all are handled.
   */
  private final class OrphanConsumer extends DefaultConsumer {
    OrphanConsumer(Channel channel) {
      super(channel);
    }

    @Override
    public void handleDelivery(String tag, com.rabbitmq.client.Envelope delivery, AMQP.BasicProperties props, byte[] body)
        throws IOException {
      if (closing.get()) {
        getChannel().basicReject(delivery.getDeliveryTag(), true);
        return;
      }
      List<Envelope> batch;
      try {
        batch = EnvelopeCodec.decode(body);
      } catch (IllegalArgumentException e) {
        log.warn("instance {}: dropping a malformed orphaned batch {}: {}", instanceId, props.getMessageId(), e.getMessage());
        getChannel().basicReject(delivery.getDeliveryTag(), false);
        return;
      }
      Death death = Death.of(props);
      String from = topology.instanceOfInbox(death.queue);
      CompletableFuture<Void> handled;
      long bounces = bounces(props);
      if (from != null && death.expired && bounces < MAX_BOUNCES && consumersOf(topology.inboxQueue(from)) > 0) {
        // Its instance is alive, only behind: back into its inbox (at the end), rather than rerouted.
        log.info("instance {}: {} envelope(s) waited too long in the inbox of {}, which is alive; sent back", instanceId,
            batch.size(), from);
        CompletableFuture<Void> sent = submit(new Dest(topology.inboxExchange, from, true, true), null, body,
            Map.of(BOUNCES_HEADER, bounces + 1)).toCompletableFuture();
        List<Envelope> envelopes = batch;
        // If its inbox went away meanwhile, they are orphans after all.
        handled = sent.exceptionallyCompose(e -> handleEach(envelopes, env -> handler.onOrphan(env, from), false));
      } else {
        log.info("instance {}: rescuing {} envelope(s) from the inbox of {} ({} {} time(s))", instanceId, batch.size(),
            from, death.expired ? "expired" : "rejected", death.count);
        handled = handleEach(batch, env -> handler.onOrphan(env, from), false);
      }
      Channel channel = getChannel();
      long deliveryTag = delivery.getDeliveryTag();
      handled.whenComplete((v, e) -> {
        Throwable cause = unwrap(e);
        try {
          if (cause instanceof BrokerException be && be.reason() == BrokerException.Reason.UNAVAILABLE) {
            channel.basicReject(deliveryTag, true); // this instance is stopping: another one takes it
          } else {
            if (cause != null) {
              log.warn("instance {}: orphaned batch not handled, dropped: {}", instanceId, cause.toString());
            }
            channel.basicAck(deliveryTag, false);
          }
        } catch (IOException | com.rabbitmq.client.AlreadyClosedException closed) {
          log.debug("instance {}: could not settle orphaned batch: {}", instanceId, closed.toString());
        }
      });
    }
  }

  /**
   * Hands each envelope of a batch to {@code handle}; completes when all are handled, exceptionally
   * if one failed. A handler that throws is logged and counted as handled (as before it threw).
   *
   * @return null if {@code stopWhenClosing} and the endpoint started closing midway
   */
  private CompletableFuture<Void> handleEach(List<Envelope> batch,
      java.util.function.Function<Envelope, java.util.concurrent.CompletionStage<Void>> handle, boolean stopWhenClosing) {
    CompletableFuture<?>[] handled = new CompletableFuture<?>[batch.size()];
    int n = 0;
    for (Envelope envelope : batch) {
      if (stopWhenClosing && closing.get()) {
        return null;
      }
      try {
        handled[n] = handle.apply(envelope).toCompletableFuture();
        n++;
      } catch (RuntimeException e) {
        log.error("instance {}: envelope handler failed for {}", instanceId, envelope, e);
      }
    }
    return CompletableFuture.allOf(java.util.Arrays.copyOf(handled, n));
  }

  private static Throwable unwrap(Throwable e) {
    return e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
  }

  /** How many times a batch may expire in a live instance's inbox and be sent back before it is rerouted. */
  private static final long MAX_BOUNCES = 3;
  /** Header of a batch sent back to its inbox: how many times it was. */
  private static final String BOUNCES_HEADER = "x-wsgateway-bounces";

  private static long bounces(AMQP.BasicProperties props) {
    Object n = props.getHeaders() == null ? null : props.getHeaders().get(BOUNCES_HEADER);
    return n instanceof Number number ? number.longValue() : 0;
  }

  /** The latest dead-lettering of a message, from its {@code x-death} header. */
  private record Death(String queue, boolean expired, long count) {
    static Death of(AMQP.BasicProperties props) {
      Map<String, Object> headers = props.getHeaders();
      Object deaths = headers == null ? null : headers.get("x-death");
      if (deaths instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Map<?, ?> latest) {
        Object queue = latest.get("queue");
        Object reason = latest.get("reason");
        Object count = latest.get("count");
        return new Death(queue == null ? null : queue.toString(), reason != null && "expired".equals(reason.toString()),
            count instanceof Number c ? c.longValue() : 1);
      }
      return new Death(null, false, 1);
    }
  }

  /**
   * How many consumers {@code queue} has, 0 if it is gone: a probe of whether an inbox's instance is
   * alive. A blocking RPC, on a channel of its own (a missing queue closes the channel it is asked on).
   */
  private int consumersOf(String queue) {
    try (Channel probe = connection.createChannel()) {
      return probe.queueDeclarePassive(queue).getConsumerCount();
    } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException gone) {
      return 0;
    }
  }

  /** Header of a copied message: the message id it was published with. */
  static final String ORIGINAL_MESSAGE_ID_HEADER = "x-wsgateway-message-id";
  /** Header of a dead-lettered ingress message: why it could not be routed. */
  static final String ERROR_HEADER = "x-wsgateway-error";
  /** Header of a dead-lettered ingress message: the queue it was taken from. */
  static final String QUEUE_HEADER = "x-wsgateway-queue";

  /**
   * Moves a message that cannot be routed to the ingress dead-letter queue, as published, with the
   * reason in a header; acknowledges it once the copy is confirmed. If the copy fails, the message is
   * rejected without requeue (a queue with a dead-letter exchange moves it there itself): it must not
   * come back and block what follows it.
   */
  void deadLetter(Channel channel, long deliveryTag, AMQP.BasicProperties props, byte[] body, String queue, String reason) {
    deadLetter(channel, deliveryTag, props, body, queue, reason, () -> {});
  }

  @Override
  public void deadLetter(Channel channel, long deliveryTag, AMQP.BasicProperties props, byte[] body, String queue,
      String reason, Runnable settled) {
    log.warn("instance {}: ingress message from {} dead-lettered to {}: {}; body: {}", instanceId, queue,
        topology.ingressDeadLetterQueue, reason, preview(body));
    Map<String, Object> headers = new HashMap<>(props.getHeaders() == null ? Map.of() : props.getHeaders());
    headers.put(ERROR_HEADER, reason.length() > 1_000 ? reason.substring(0, 1_000) + "..." : reason);
    headers.put(QUEUE_HEADER, queue);
    submitCopy(topology.ingressDeadLetterQueue, props, body, headers).whenComplete((v, e) -> {
      try {
        if (e == null) {
          channel.basicAck(deliveryTag, false);
        } else {
          log.warn("instance {}: could not dead-letter an ingress message ({}); rejecting it", instanceId, e.toString());
          channel.basicReject(deliveryTag, false);
        }
      } catch (IOException | AlreadyClosedException closed) {
        log.debug("instance {}: could not settle a dead-lettered message: {}", instanceId, closed.toString());
      }
      settled.run();
    });
  }

  /**
   * Publishes a copy of a consumed message to {@code queue} (through the default exchange, mandatory,
   * with its properties and {@code headers}); completes on the confirm.
   */
  CompletionStage<Void> submitCopy(String queue, AMQP.BasicProperties props, byte[] body, Map<String, Object> headers) {
    return submit(new Dest("", queue, true, true), null, body, headers, props);
  }

  private static String preview(byte[] body) {
    String text = new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8);
    return body.length > 200 ? text + "... (" + body.length + " bytes)" : text;
  }

  // ---------------------------------------------------------------- state records

  /** Where a publish goes. {@code raw} ones (upstream frames) are never batched. */
  private record Dest(String exchange, String routingKey, boolean mandatory, boolean raw) {}

  /** One accepted envelope (or upstream frame) and its stage. */
  private static final class Pending {
    final Dest dest;
    final Envelope envelope;
    final byte[] raw;
    final Map<String, Object> headers;
    /** For a copy of a consumed message: its properties, kept but for the message id. */
    final AMQP.BasicProperties copyOf;
    final long deadline;
    final int size;
    final CompletableFuture<Void> future = new CompletableFuture<>();

    Pending(Dest dest, Envelope envelope, byte[] raw, Map<String, Object> headers, AMQP.BasicProperties copyOf,
        long deadline) {
      this.dest = dest;
      this.envelope = envelope;
      this.raw = raw;
      this.headers = headers;
      this.copyOf = copyOf;
      this.deadline = deadline;
      this.size = envelope != null ? encodedSize(envelope) : raw.length;
    }
  }

  /** About the bytes {@code envelope} takes in a batch (and in memory): data, strings, framing. */
  static int encodedSize(Envelope envelope) {
    // Strings are counted as UTF-16 units, at most 3 bytes each once encoded: close enough for a
    // bound, and cheaper than encoding twice. Their limits keep the sum far from overflow.
    long strings = envelope.id().length() + envelope.target().length()
        + (envelope.from() == null ? 0 : envelope.from().length())
        + (envelope.origin() == null ? 0 : envelope.origin().length());
    return (int) Math.min(Integer.MAX_VALUE, envelope.data().length + 2 * strings + 16);
  }

  /** The buffered and in-flight publishes of one destination. Confined to io. */
  private static final class DestState {
    final Dest dest;
    final ArrayDeque<Pending> queue = new ArrayDeque<>();
    long queuedBytes;
    int inFlight;
    ScheduledFuture<?> linger;

    DestState(Dest dest) {
      this.dest = dest;
    }
  }

  /** One broker message awaiting its confirm. */
  private static final class Published {
    final DestState state;
    final List<Pending> items;
    /** The reply of a basic.return for this message, or null. */
    String returned;

    Published(DestState state, List<Pending> items) {
      this.state = state;
      this.items = items;
    }
  }

  /** A bounded memory of recently handled message ids, to recognise redeliveries. Thread-safe. */
  private static final class RecentMessages {
    private final Map<String, Boolean> seen;

    RecentMessages(int capacity) {
      this.seen = new LinkedHashMap<>(capacity * 2, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > capacity;
        }
      };
    }

    /** Records {@code id}; true unless it was recorded already. A missing id is always new. */
    synchronized boolean firstTime(String id) {
      return id == null || seen.put(id, Boolean.TRUE) == null;
    }
  }
}
