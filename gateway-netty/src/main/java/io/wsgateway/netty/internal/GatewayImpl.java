package io.wsgateway.netty.internal;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.wsgateway.CloseCodes;
import io.wsgateway.Connection;
import io.wsgateway.DrainOptions;
import io.wsgateway.DrainReport;
import io.wsgateway.GatewayState;
import io.wsgateway.ErrorCodes;
import io.wsgateway.Gateway;
import io.wsgateway.GatewayException;
import io.wsgateway.GatewayListener;
import io.wsgateway.HttpRoute;
import io.wsgateway.MessageHandler;
import io.wsgateway.auth.Authenticator;
import io.wsgateway.auth.Authorizer;
import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.BrokerException;
import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.EnvelopeHandler;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InstanceContext;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.registry.InstanceStatus;
import io.wsgateway.registry.Presence;
import io.wsgateway.registry.RegisteredConnection;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.ThreadLocalRandom;
import java.util.Objects;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway engine: owns the Netty server, the local connection and subscription maps, and routes
 * between local connections, the registry and the broker.
 */
public final class GatewayImpl implements Gateway, EnvelopeHandler, InstanceContext {

  private static final Logger log = LoggerFactory.getLogger(GatewayImpl.class);
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);
  private static final long ATTACH_TIMEOUT_SECONDS = 30;

  private final GatewayOptions options;
  private final String instanceId;
  private final Authenticator authenticator;
  private final Authorizer authorizer;
  private final ConnectionRegistry registry;
  private final boolean ownsRegistry;
  private final MessageBroker broker;
  private final boolean ownsBroker;
  private final GatewayListener listener;
  private final MessageHandler messageHandler;
  private final Map<String, HttpRoute> routes;

  private final RecoveryStore recovery;
  private final Map<String, ConnectionHandler> connections = new ConcurrentHashMap<>();
  /** Where each user's sessions are delivered: live connections and, with recovery, detached sessions. */
  private final Map<String, Set<SessionSink>> byUser = new ConcurrentHashMap<>();
  /** Live connections by session id, for messages forwarded from a session's previous instance. */
  private final Map<String, ConnectionHandler> sessions = new ConcurrentHashMap<>();
  /** Disconnected sessions kept for their recovery window, by session id. */
  private final Map<String, DetachedSession> detached = new ConcurrentHashMap<>();
  private final Map<String, TopicState> topics = new ConcurrentHashMap<>();
  /** Fan-out state per I/O event loop; a handful of entries, created on first use. */
  private final Map<io.netty.channel.EventLoop, FanOutLoop> fanOutLoops = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Void>> pendingUnbinds = new ConcurrentHashMap<>();
  /** Per-user connection slots in use, counted from authentication on so racing handshakes see them. */
  private final Map<String, Integer> userSlots = new ConcurrentHashMap<>();
  /** Handshakes admitted but not yet upgraded; they count against the connection limit. */
  private final AtomicInteger admitted = new AtomicInteger();

  private final WebSocketServerHandshakerFactory handshakerFactory;

  private volatile GatewayState state = GatewayState.NEW;
  private CompletableFuture<DrainReport> drained;
  /** The host's {@code sendToUser} calls leave in call order (see {@link SendOrder}). */
  private final SendOrder hostOrder = new SendOrder();
  /** Message frames written to clients, for drain reports. */
  private final LongAdder delivered = new LongAdder();
  private volatile BrokerEndpoint endpoint;
  private volatile Drain activeDrain;
  private EventLoopGroup group;
  private Channel serverChannel;
  private int boundPort = -1;
  private Channel adminChannel;
  private int adminPort = -1;

  /** Local subscribers of one topic, and the broker binding they wait on. */
  private static final class TopicState {
    final Set<SessionSink> subscribers = ConcurrentHashMap.newKeySet();
    CompletableFuture<Void> bound;
  }

  public GatewayImpl(GatewayOptions options, Authenticator authenticator, Authorizer authorizer,
      ConnectionRegistry registry, boolean ownsRegistry, MessageBroker broker, boolean ownsBroker,
      List<GatewayListener> listeners, MessageHandler messageHandler, Map<String, HttpRoute> routes,
      RecoveryStore recovery) {
    this.options = options;
    this.instanceId = options.instanceId() != null ? options.instanceId() : Ids.instance();
    this.authenticator = authenticator;
    this.authorizer = authorizer;
    this.registry = registry;
    this.ownsRegistry = ownsRegistry;
    this.broker = broker;
    this.ownsBroker = ownsBroker;
    this.listener = CompositeListener.of(listeners);
    this.messageHandler = messageHandler;
    this.routes = Map.copyOf(routes);
    this.recovery = recovery;
    this.handshakerFactory = new WebSocketServerHandshakerFactory(options.path(), null,
        WebSocketDecoderConfig.newBuilder()
            .maxFramePayloadLength(options.maxMessageSize())
            .allowExtensions(options.compression())
            .build());
  }

  WebSocketServerHandshakerFactory handshakerFactory() {
    return handshakerFactory;
  }

  // ---- lifecycle ----

  @Override
  public synchronized void start() {
    if (state != GatewayState.NEW) {
      throw new IllegalStateException("gateway " + instanceId + " already started");
    }
    try {
      endpoint = broker.attach(instanceId, this).toCompletableFuture().get(ATTACH_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      registry.attach(this).toCompletableFuture().get(ATTACH_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      SslContext ssl = options.tlsCertificateChain() == null ? null
          : SslContextBuilder.forServer(options.tlsCertificateChain().toFile(), options.tlsPrivateKey().toFile()).build();
      boolean epoll = options.nativeTransport() && Epoll.isAvailable();
      IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
      Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
      group = new MultiThreadIoEventLoopGroup(options.ioThreads(), io);
      ServerBootstrap bootstrap = new ServerBootstrap()
          .group(group)
          .channel(channelType)
          .option(ChannelOption.SO_BACKLOG, 4096)
          .option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
              new WriteBufferWaterMark(options.writeBufferLowWaterMark(), options.writeBufferHighWaterMark()))
          .childHandler(new ServerInitializer(this, ssl, false));
      serverChannel = bootstrap.bind(options.host(), options.port()).sync().channel();
      boundPort = ((InetSocketAddress) serverChannel.localAddress()).getPort();
      if (options.adminPort() >= 0) {
        adminChannel = bootstrap.clone().childHandler(new ServerInitializer(this, null, true))
            .bind(options.adminHost(), options.adminPort()).sync().channel();
        adminPort = ((InetSocketAddress) adminChannel.localAddress()).getPort();
        log.info("gateway {} admin listener on {}:{}", instanceId, options.adminHost(), adminPort);
      }
      moveTo(GatewayState.RUNNING);
      log.info("gateway {} listening on {}:{}{} ({}, {})", instanceId, options.host(), boundPort, options.path(),
          epoll ? "epoll" : "nio", ssl == null ? "plain" : "tls");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      shutdownQuietly();
      throw new GatewayException(ErrorCodes.INTERNAL, "interrupted while starting", e);
    } catch (Exception e) {
      shutdownQuietly();
      throw new GatewayException(ErrorCodes.INTERNAL, "gateway " + instanceId + " failed to start: " + e, e);
    }
  }

  private void moveTo(GatewayState next) {
    GatewayState previous;
    synchronized (this) {
      previous = state;
      state = next;
    }
    if (previous != next) {
      log.info("gateway {}: {} -> {}", instanceId, previous, next);
      listener.onStateChanged(previous, next);
    }
  }

  @Override
  public GatewayState state() {
    return state;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (state == GatewayState.STOPPED) {
        return;
      }
    }
    moveTo(GatewayState.STOPPED);
    CompletableFuture<DrainReport> d = drained;
    if (d != null && !d.isDone()) {
      d.completeExceptionally(new GatewayException(ErrorCodes.UNAVAILABLE, "gateway closed during drain"));
    }
    if (serverChannel != null) {
      serverChannel.close().syncUninterruptibly();
    }
    if (adminChannel != null) {
      adminChannel.close().syncUninterruptibly();
    }
    for (ConnectionHandler c : connections.values()) {
      c.close(CloseCodes.GOING_AWAY, CloseCodes.REASON_SHUTDOWN);
    }
    awaitCondition(connections::isEmpty, Duration.ofSeconds(6));
    // Sessions resumed elsewhere tell us so; until then this instance keeps them (bounded wait).
    awaitCondition(detached::isEmpty, options.handoverTimeout());
    for (DetachedSession session : List.copyOf(detached.values())) {
      session.end();
    }
    awaitQuietly(registry.setInstanceStatus(instanceId, InstanceStatus.GONE));
    if (recovery != null) {
      // Senders that looked this instance up just before it was marked gone may still have envelopes
      // on the way; keep consuming the inbox a moment so resumed sessions get them forwarded.
      awaitCondition(() -> false, IN_FLIGHT_GRACE);
    }
    shutdownQuietly();
  }

  private void shutdownQuietly() {
    state = GatewayState.STOPPED;
    if (group != null) {
      // The quiet period lets the close frames written above leave before the loops stop.
      group.shutdownGracefully(100, 5_000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }
    BrokerEndpoint e = endpoint;
    if (e != null) {
      awaitQuietly(e.close());
    }
    if (ownsBroker) {
      broker.close();
    }
    if (ownsRegistry) {
      registry.close();
    }
  }

  /** Waits, on the closing thread, until {@code condition} holds or {@code timeout} passes. */
  private static void awaitCondition(java.util.function.BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
    }
  }

  private static void awaitQuietly(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.debug("ignored during close: {}", e.toString());
    }
  }

  /** Ready means accepting: only a running instance takes new clients (and answers /ready with 200). */
  boolean isAccepting() {
    return state == GatewayState.RUNNING;
  }

  void countDelivered() {
    delivered.increment();
  }

  // ---- drain ----

  @Override
  public CompletionStage<DrainReport> drain(DrainOptions drainOptions) {
    Objects.requireNonNull(drainOptions, "drainOptions");
    synchronized (this) {
      if (drained != null) {
        return drained;
      }
      if (state != GatewayState.RUNNING) {
        throw new IllegalStateException("gateway " + instanceId + " cannot drain in state " + state);
      }
      drained = new CompletableFuture<>();
    }
    moveTo(GatewayState.DRAINING);
    registry.setInstanceStatus(instanceId, InstanceStatus.DRAINING).exceptionally(e -> {
      log.warn("registry could not mark {} draining: {}", instanceId, e.toString());
      return null;
    });
    new Drain(drainOptions).start();
    return drained;
  }

  /** One drain: hints spread over the window, a deadline, and the report. */
  private final class Drain {
    private final DrainOptions drainOptions;
    private final long startNanos = System.nanoTime();
    private final long deliveredAtStart = delivered.sum();
    private final AtomicInteger leftAfterHint = new AtomicInteger();
    private final AtomicInteger closedAtDeadline = new AtomicInteger();
    private final Set<ConnectionHandler> hinted = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicBoolean finished = new java.util.concurrent.atomic.AtomicBoolean();
    private int atStart;

    Drain(DrainOptions drainOptions) {
      this.drainOptions = drainOptions;
    }

    void start() {
      List<ConnectionHandler> snapshot = List.copyOf(connections.values());
      atStart = snapshot.size();
      activeDrain = this;
      long spread = drainOptions.reconnectSpread().toNanos();
      long maxDelayMs = drainOptions.maxClientDelay().toMillis();
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (ConnectionHandler c : snapshot) {
        long at = spread == 0 ? 0 : random.nextLong(spread);
        long delayMs = maxDelayMs == 0 ? 0 : random.nextLong(maxDelayMs + 1);
        c.channel().eventLoop().schedule(() -> {
          hinted.add(c);
          c.sendReconnectHint(delayMs);
        }, at, TimeUnit.NANOSECONDS);
      }
      group.schedule(this::deadline, drainOptions.deadline().toNanos(), TimeUnit.NANOSECONDS);
      checkDone();
    }

    void onDisconnected(ConnectionHandler c) {
      if (hinted.contains(c)) {
        leftAfterHint.incrementAndGet();
      }
      checkDone();
    }

    private void deadline() {
      for (ConnectionHandler c : connections.values()) {
        closedAtDeadline.incrementAndGet();
        hinted.remove(c);
        c.close(CloseCodes.GOING_AWAY, CloseCodes.REASON_DRAINING);
      }
      checkDone();
    }

    private void checkDone() {
      if (!connections.isEmpty() || drained.isDone() || !finished.compareAndSet(false, true)) {
        return;
      }
      DrainReport report = new DrainReport(atStart, leftAfterHint.get(), closedAtDeadline.get(),
          delivered.sum() - deliveredAtStart, Duration.ofNanos(System.nanoTime() - startNanos));
      activeDrain = null;
      boolean stillDraining;
      synchronized (GatewayImpl.this) {
        stillDraining = state == GatewayState.DRAINING;
      }
      // The state moves first, so whoever sees the report completed also sees DRAINED.
      if (stillDraining) {
        moveTo(GatewayState.DRAINED);
      }
      log.info("gateway {} drained: {}", instanceId, report);
      drained.complete(report);
    }
  }

  // ---- accessors for handlers ----

  GatewayOptions options() {
    return options;
  }

  Authenticator authenticator() {
    return authenticator;
  }

  Authorizer authorizer() {
    return authorizer;
  }

  GatewayListener listener() {
    return listener;
  }

  RecoveryStore recovery() {
    return recovery;
  }

  boolean hasMessageHandler() {
    return messageHandler != null;
  }

  MessageHandler messageHandler() {
    return messageHandler != null ? messageHandler : (c, t, f) -> { };
  }

  HttpRoute route(String path) {
    return routes.get(path);
  }

  /** Reserves a connection slot for a handshake; false when the instance is full. */
  boolean tryAdmit() {
    while (true) {
      int current = admitted.get();
      if (current + connections.size() >= options.maxConnections()) {
        return false;
      }
      if (admitted.compareAndSet(current, current + 1)) {
        return true;
      }
    }
  }

  void releaseAdmission() {
    admitted.decrementAndGet();
  }

  /**
   * Reserves one of the user's connection slots on this instance, from authentication until the
   * connection closes; false when the user is at the per-user limit.
   */
  boolean tryAdmitUser(String userId) {
    boolean[] admittedUser = {false};
    userSlots.compute(userId, (u, n) -> {
      int current = n == null ? 0 : n;
      if (current >= options.maxConnectionsPerUser()) {
        return n;
      }
      admittedUser[0] = true;
      return current + 1;
    });
    return admittedUser[0];
  }

  void releaseUser(String userId) {
    userSlots.computeIfPresent(userId, (u, n) -> n <= 1 ? null : n - 1);
  }

  // ---- Gateway ----

  @Override
  public String instanceId() {
    return instanceId;
  }

  @Override
  public int port() {
    return boundPort;
  }

  @Override
  public int adminPort() {
    return adminPort;
  }

  @Override
  public CompletionStage<Presence> presence(String userId) {
    return registry.presence(userId).exceptionally(e -> {
      Throwable cause = unwrap(e);
      if (cause instanceof GatewayException ge) {
        throw ge;
      }
      throw new GatewayException(ErrorCodes.REGISTRY_UNAVAILABLE, "registry lookup failed: " + cause, cause);
    });
  }

  @Override
  public Collection<Connection> connections() {
    return List.copyOf(connections.values());
  }

  @Override
  public int connectionCount() {
    return connections.size();
  }

  @Override
  public CompletionStage<Void> sendToUser(String userId, String data) {
    return routeToUser(userId, null, checkedPayload(data), hostOrder);
  }

  @Override
  public CompletionStage<Void> publish(String topic, String data) {
    return publish(topic, null, checkedPayload(data));
  }

  private static byte[] checkedPayload(String data) {
    byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
    if (!Protocol.isJsonValue(bytes)) {
      throw new IllegalArgumentException("data: not one JSON value: " + abbreviate(data));
    }
    return bytes;
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }

  // ---- connections ----

  /** Registers an upgraded connection locally and in the registry; completes when registered. */
  CompletionStage<Void> onConnected(ConnectionHandler c) {
    releaseAdmission();
    connections.put(c.id(), c);
    // Sized for one: most users hold one connection here, and the default table (16) costs ~56 B more.
    byUser.computeIfAbsent(c.userId(), u -> ConcurrentHashMap.newKeySet(1)).add(c);
    listener.onConnected(c);
    return registry.register(new RegisteredConnection(c.id(), c.principal().userId(), instanceId))
        .exceptionally(e -> {
          // The connection still works locally; the registry resyncs live connections when it recovers.
          log.warn("registry could not register connection {}: {}", c.id(), e.toString());
          return null;
        });
  }

  void onDisconnected(ConnectionHandler c, int code, String reason) {
    if (connections.remove(c.id()) == null) {
      return;
    }
    String userId = c.userId();
    releaseUser(userId);
    sessions.remove(c.sessionId(), c);
    RegisteredConnection registration = new RegisteredConnection(c.id(), userId, instanceId);
    if (recovery != null && c.isSessionOpen() && state != GatewayState.STOPPED) {
      detach(c, registration);
    } else {
      removeSink(c);
      registry.unregister(registration).exceptionally(e -> {
        log.debug("registry could not unregister connection {}: {}", c.id(), e.toString());
        return null;
      });
    }
    listener.onDisconnected(c, code, reason);
    Drain d = activeDrain;
    if (d != null) {
      d.onDisconnected(c);
    }
  }

  /**
   * Keeps a disconnected session for the recovery window: it takes the connection's place for routing
   * and topics, and appends to the store what arrives for it.
   */
  private void detach(ConnectionHandler c, RegisteredConnection registration) {
    DetachedSession d = new DetachedSession(this, recovery, c.sessionId(), c.userId(), c.owner(), registration,
        c.liveSubscriptions(), c.channel().eventLoop(), c.recentIds());
    detached.put(d.sessionId(), d);
    byUser.computeIfAbsent(c.userId(), u -> ConcurrentHashMap.newKeySet(1)).add(d);
    for (String topic : d.liveSubscriptions()) {
      TopicState st = topics.get(topic);
      if (st != null) {
        st.subscribers.add(d);
      }
    }
    byUser.computeIfPresent(c.userId(), (u, set) -> {
      set.remove(c);
      return set.isEmpty() ? null : set;
    });
    for (String topic : c.liveSubscriptions()) {
      TopicState st = topics.get(topic);
      if (st != null) {
        st.subscribers.remove(c);
      }
    }
    recovery.detach(d.sessionId(), d.owner()).exceptionally(e -> {
      log.warn("session {}: could not start its recovery window: {}", d.sessionId(), e.toString());
      return null;
    });
    if (group != null && !group.isShuttingDown()) {
      d.expireAfter(group.next().schedule(d::end, options.recoveryWindow().toNanos(), TimeUnit.NANOSECONDS));
    }
  }

  /** A detached session ended (expired, or shutdown): stop routing to it here. */
  void onDetachedEnded(DetachedSession d) {
    detached.remove(d.sessionId(), d);
    removeSink(d);
    unregister(d);
  }

  /**
   * A detached session was resumed elsewhere: new lookups stop naming this instance at once, while
   * envelopes already on their way here are forwarded for a grace period, then it ends.
   */
  void onDetachedMoved(DetachedSession d) {
    detached.remove(d.sessionId(), d);
    unregister(d);
    if (group != null && !group.isShuttingDown()) {
      d.expireAfter(group.next().schedule(d::end, MOVED_GRACE_MILLIS, TimeUnit.MILLISECONDS));
    } else {
      d.end();
    }
  }

  /** How long a closing instance keeps its inbox after leaving the registry, for envelopes in flight. */
  private static final Duration IN_FLIGHT_GRACE = Duration.ofSeconds(1);

  /** How long a resumed-elsewhere session keeps forwarding in-flight messages to its new owner. */
  private static final long MOVED_GRACE_MILLIS = 5_000;

  private void unregister(DetachedSession d) {
    registry.unregister(d.registration()).exceptionally(e -> {
      log.debug("registry could not unregister session {}: {}", d.sessionId(), e.toString());
      return null;
    });
  }

  private void removeSink(SessionSink sink) {
    byUser.computeIfPresent(sink.userId(), (u, set) -> {
      set.remove(sink);
      return set.isEmpty() ? null : set;
    });
    for (String topic : List.copyOf(sink.liveSubscriptions())) {
      unsubscribe(sink, topic);
    }
  }

  /** A connection is about to claim {@code sessionId}: messages forwarded for it must reach it. */
  void onSessionOpening(String sessionId, ConnectionHandler c) {
    sessions.put(sessionId, c);
  }

  /** The connection did not resume {@code sessionId} after all. */
  void onSessionAbandoned(String sessionId, ConnectionHandler c) {
    sessions.remove(sessionId, c);
  }

  /** A connection's session is open (new or resumed): forwarded messages for it may arrive here. */
  void onSessionOpened(ConnectionHandler c) {
    sessions.put(c.sessionId(), c);
  }

  /**
   * Sends a message of {@code sessionId} to the instance that now owns the session ({@code owner} is
   * {@code instanceId/connectionId}).
   */
  CompletionStage<Void> forwardToSession(String owner, String sessionId, String messageId, byte[] prefix) {
    return deliverToOwner(sessionId, owner, messageId, prefix, 0).handle((kept, e) -> {
      if (e != null) {
        log.warn("session {}: could not forward message {} to {}: {}", sessionId, messageId, owner, e.toString());
      }
      return null;
    });
  }

  /** How many owner changes one message follows before it is given up (owners change once per resume). */
  private static final int MAX_OWNER_HOPS = 4;

  /**
   * Gets a message to session {@code sessionId}, whose owner was last seen as {@code owner}: to the
   * session if it is served here, else to the owner's instance; and when the owner is gone (a crashed
   * instance, or an earlier incarnation of this one), into the recovery store on its behalf, where the
   * client finds it on resume. The store's owner check makes that safe against a concurrent resume:
   * the append fails and the message follows the new owner.
   *
   * @return whether the message reached the session or its store
   */
  private CompletableFuture<Boolean> deliverToOwner(String sessionId, String owner, String messageId, byte[] prefix,
      int hops) {
    ConnectionHandler live = sessions.get(sessionId);
    if (live != null) {
      return live.deliverForwarded(messageId, prefix).toCompletableFuture().thenApply(v -> Boolean.TRUE);
    }
    DetachedSession d = detached.get(sessionId);
    if (d != null) {
      return d.deliver(messageId, prefix).toCompletableFuture().thenApply(v -> Boolean.TRUE);
    }
    int slash = owner.lastIndexOf('/');
    String instance = instanceOf(owner);
    if (!instance.equals(instanceId)) {
      return endpoint.sendToInstance(instance, Envelope.toSession(messageId, sessionId, owner, prefix, instanceId))
          .toCompletableFuture().thenApply(v -> Boolean.TRUE)
          .exceptionallyCompose(error -> {
            Throwable cause = unwrap(error);
            if (cause instanceof BrokerException be && be.reason() == BrokerException.Reason.NO_ROUTE
                && slash >= 0 && recovery != null) {
              // The owner's instance is gone, inbox and all.
              return appendForGoneOwner(sessionId, owner, messageId, prefix, hops);
            }
            return CompletableFuture.failedFuture(cause);
          });
    }
    ConnectionHandler connection = slash < 0 ? null : connections.get(owner.substring(slash + 1));
    if (connection != null) {
      // Owned here by a connection whose session is still opening: it takes the message in order.
      return connection.deliverForwarded(messageId, prefix).toCompletableFuture().thenApply(v -> Boolean.TRUE);
    }
    if (slash < 0 || recovery == null) {
      log.warn("session {}: message {} for owner {} has no connection here; dropped", sessionId, messageId, owner);
      return CompletableFuture.completedFuture(Boolean.FALSE);
    }
    // Owned by a connection of an earlier incarnation of this instance: it is gone.
    return appendForGoneOwner(sessionId, owner, messageId, prefix, hops);
  }

  /**
   * As {@link #deliverToOwner}, except that when the owner's instance is known to be gone ({@code
   * instanceGone}) and the session is not served here, the message goes straight into the store for
   * it rather than to that instance's inbox, where nobody would read it.
   */
  private CompletableFuture<Boolean> deliverToOwner(String sessionId, String owner, String messageId, byte[] prefix,
      boolean instanceGone) {
    boolean gone = instanceGone && recovery != null && owner.indexOf('/') >= 0
        && !sessions.containsKey(sessionId) && !detached.containsKey(sessionId);
    return gone ? appendForGoneOwner(sessionId, owner, messageId, prefix, 0)
        : deliverToOwner(sessionId, owner, messageId, prefix, 0);
  }

  private CompletableFuture<Boolean> appendForGoneOwner(String sessionId, String owner, String messageId,
      byte[] prefix, int hops) {
    return recovery.append(sessionId, owner, messageId, prefix).toCompletableFuture().thenCompose(result -> {
      if (result.appended()) {
        log.info("session {}: message {} kept at seq {} for its gone owner {}", sessionId, messageId, result.seq(),
            owner);
        return CompletableFuture.completedFuture(Boolean.TRUE);
      }
      if (result.owner() == null) {
        log.info("session {}: message {} dropped: the session expired", sessionId, messageId);
        return CompletableFuture.completedFuture(Boolean.FALSE);
      }
      if (hops >= MAX_OWNER_HOPS) {
        log.warn("session {}: message {} dropped after {} owner changes", sessionId, messageId, hops);
        return CompletableFuture.completedFuture(Boolean.FALSE);
      }
      return deliverToOwner(sessionId, result.owner(), messageId, prefix, hops + 1);
    });
  }

  /**
   * Delivers a message for a user whom no live instance holds to the user's sessions in the recovery
   * store, if any: their instance died without a drain (or they are between owners), and the client
   * finds the message on resume.
   *
   * @return whether any session took it; false without a recovery store
   */
  private CompletableFuture<Boolean> deliverToStoredSessions(String userId, String messageId, byte[] prefix) {
    if (recovery == null) {
      return CompletableFuture.completedFuture(Boolean.FALSE);
    }
    return recovery.sessionsOf(userId).toCompletableFuture().thenCompose(owners -> {
      if (owners.isEmpty()) {
        return CompletableFuture.completedFuture(Boolean.FALSE);
      }
      // Looked up after reading the owners: an instance registers a connection before it claims a
      // session, so an owner whose instance does not hold the user now is gone (crashed, or closed
      // before the client resumed), and appending on its behalf cannot race a live owner's writes.
      return registry.instancesOf(userId).toCompletableFuture().thenCompose(holders -> {
        List<CompletableFuture<Boolean>> kept = new ArrayList<>(owners.size());
        for (Map.Entry<String, String> e : owners.entrySet()) {
          String instance = instanceOf(e.getValue());
          boolean instanceGone = !instance.equals(instanceId) && !holders.contains(instance);
          kept.add(deliverToOwner(e.getKey(), e.getValue(), messageId, prefix, instanceGone));
        }
        return CompletableFuture.allOf(kept.toArray(new CompletableFuture<?>[0]))
            .thenApply(v -> kept.stream().anyMatch(CompletableFuture::join));
      });
    });
  }

  /**
   * Tells a session's previous owner that it was resumed here, so it stops keeping it; the previous
   * owner answers with {@link #HANDED_OVER} once what it still had for the session is in the store
   * or on its way here (the resumed connection holds live messages until then).
   */
  void notifyClaimed(String previousOwner, String sessionId) {
    String instance = instanceOf(previousOwner);
    if (instance.equals(instanceId)) {
      onClaimed(sessionId, sessions.get(sessionId) == null ? instanceId : sessions.get(sessionId).owner(),
          instanceId);
      return;
    }
    ConnectionHandler claimer = sessions.get(sessionId);
    String newOwner = claimer == null ? null : claimer.owner();
    endpoint.sendToInstance(instance, Envelope.toSession(Ids.random(), sessionId, newOwner, CLAIMED, instanceId))
        .exceptionally(e -> null); // the previous owner may be gone: the resumed connection stops waiting after a while
  }

  /** The session was resumed by {@code newOwner} on {@code newInstance}: hand it over, then say so. */
  private void onClaimed(String sessionId, String newOwner, String newInstance) {
    DetachedSession d = detached.get(sessionId);
    Runnable handedOver = () -> {
      if (newInstance.equals(instanceId)) {
        ConnectionHandler resumed = sessions.get(sessionId);
        if (resumed != null) {
          resumed.onHandedOver();
        }
      } else {
        endpoint.sendToInstance(newInstance, Envelope.toSession(Ids.random(), sessionId, HANDED_OVER, instanceId))
            .exceptionally(e -> null);
      }
    };
    if (d == null) {
      handedOver.run();
      return;
    }
    d.movedTo(newOwner);
    d.handOver(handedOver);
  }

  /** SESSION envelope control data: "this session was resumed elsewhere" (new owner to old). */
  private static final byte[] CLAIMED = new byte[0];
  /** SESSION envelope control data: "everything I had for it is handed over" (old owner to new). */
  private static final byte[] HANDED_OVER = new byte[] {0};

  private static String instanceOf(String owner) {
    int slash = owner.lastIndexOf('/');
    return slash < 0 ? owner : owner.substring(0, slash);
  }

  @Override
  public Collection<RegisteredConnection> liveConnections() {
    List<RegisteredConnection> live = new ArrayList<>(connections.size());
    for (ConnectionHandler c : connections.values()) {
      live.add(new RegisteredConnection(c.id(), c.userId(), instanceId));
    }
    for (DetachedSession d : detached.values()) {
      live.add(d.registration());
    }
    return live;
  }

  // ---- routing ----

  /**
   * Routes a direct message: local connections get it at once; the registry names the other
   * instances, and the broker carries one envelope to each.
   */
  CompletionStage<Void> routeToUser(String toUser, String fromUser, byte[] data, SendOrder order) {
    return routeToUser(toUser, fromUser, data, Ids.random(), order);
  }

  /**
   * As above, with the message id given: a backend's id survives an ingress redelivery, so a resumed
   * session that gets the message twice keeps one copy.
   */
  CompletionStage<Void> routeToUser(String toUser, String fromUser, byte[] data, String messageId,
      SendOrder order) {
    if (state == GatewayState.STOPPED) {
      return CompletableFuture.failedFuture(new GatewayException(ErrorCodes.UNAVAILABLE, "gateway closed"));
    }
    byte[] prefix = Protocol.messagePrefix(fromUser, null, data);
    List<CompletableFuture<?>> kept = recovery == null ? null : new ArrayList<>(2);
    int local = deliverLocally(toUser, messageId, prefix, kept);
    CompletionStage<Set<String>> lookup = registry.instancesOf(toUser);
    if (local > 0 && kept == null && onlyHere(lookup)) {
      // Delivered here and held nowhere else, answered from memory (the in-memory registry, or the
      // Redis registry's near cache): done, without the chain of stages below.
      if (log.isDebugEnabled()) {
        log.debug("route {} to {}: {} local, no other instance", messageId, toUser, local);
      }
      return DONE;
    }
    CompletableFuture<Void> routed = new CompletableFuture<>();
    java.util.function.BiConsumer<Set<String>, Throwable> dispatch = (instances, error) -> {
      CompletableFuture<Void> sent;
      try {
        sent = dispatch(toUser, fromUser, data, messageId, local, kept, prefix, instances, error);
      } catch (RuntimeException e) {
        sent = CompletableFuture.failedFuture(e);
      }
      sent.whenComplete((v, e) -> {
        if (e == null) {
          routed.complete(null);
        } else {
          routed.completeExceptionally(unwrap(e));
        }
      });
    };
    if (order != null) {
      order.then(lookup.toCompletableFuture(), dispatch);
    } else {
      lookup.whenComplete(dispatch);
    }
    return routed;
  }

  /** The second step of {@link #routeToUser}: once the lookup answered, in the source's order. */
  private CompletableFuture<Void> dispatch(String toUser, String fromUser, byte[] data, String messageId, int local,
      List<CompletableFuture<?>> kept, byte[] prefix, Set<String> instances, Throwable error) {
    if (error != null) {
      Throwable cause = unwrap(error);
      String detail = local > 0 ? " (delivered to " + local + " local connection(s))" : "";
      return CompletableFuture.failedFuture(
          new GatewayException(ErrorCodes.REGISTRY_UNAVAILABLE, "registry lookup failed" + detail, cause));
    }
    if (log.isDebugEnabled()) {
      log.debug("route {} {} to {}: {} local, instances {}", messageId, new String(data, java.nio.charset.StandardCharsets.UTF_8),
          toUser, local, instances);
    }
    List<CompletableFuture<Boolean>> sends = new ArrayList<>(instances.size());
    for (String instance : instances) {
      if (!instance.equals(instanceId)) {
        Envelope envelope = Envelope.toUser(messageId, toUser, fromUser, data, instanceId);
        sends.add(sendToInstance(instance, envelope));
      }
    }
    if (kept != null) {
      // With recovery, an ack means the local copies are in the store, as remote ones are confirmed.
      kept.addAll(sends);
    }
    CompletableFuture<?>[] all = kept != null ? kept.toArray(new CompletableFuture<?>[0])
        : sends.toArray(new CompletableFuture<?>[0]);
    return CompletableFuture.allOf(all).thenCompose(v -> {
      boolean reached = local > 0 || sends.stream().anyMatch(CompletableFuture::join);
      return reached ? CompletableFuture.completedFuture(Boolean.TRUE)
          : deliverToStoredSessions(toUser, messageId, prefix);
    }).thenApply(reached -> {
      if (!reached) {
        throw new GatewayException(ErrorCodes.USER_OFFLINE, "user " + toUser + " is offline");
      }
      return null;
    });
  }

  /** Whether {@code lookup} already answered that no instance but this one holds the user. */
  private boolean onlyHere(CompletionStage<Set<String>> lookup) {
    if (!(lookup instanceof CompletableFuture<Set<String>> f) || !f.isDone() || f.isCompletedExceptionally()) {
      return false;
    }
    Set<String> instances = f.getNow(null);
    return instances != null
        && (instances.isEmpty() || (instances.size() == 1 && instances.contains(instanceId)));
  }

  /** Completes with whether an inbox took the envelope; false when the instance is gone. */
  private CompletableFuture<Boolean> sendToInstance(String instance, Envelope envelope) {
    BrokerEndpoint e = endpoint;
    return e.sendToInstance(instance, envelope).toCompletableFuture()
        .thenApply(v -> Boolean.TRUE)
        .exceptionally(error -> {
          Throwable cause = unwrap(error);
          if (cause instanceof BrokerException be && be.reason() == BrokerException.Reason.NO_ROUTE) {
            // The registry still named an instance whose inbox is gone: nobody there to deliver to.
            log.debug("instance {} has no inbox for {}", instance, envelope.id());
            return Boolean.FALSE;
          }
          throw brokerFailure(cause);
        });
  }

  CompletionStage<Void> publish(String topic, String fromUser, byte[] data) {
    if (state == GatewayState.STOPPED) {
      return CompletableFuture.failedFuture(new GatewayException(ErrorCodes.UNAVAILABLE, "gateway closed"));
    }
    Envelope envelope = Envelope.toTopic(Ids.random(), topic, fromUser, data, instanceId);
    return endpoint.publish(topic, envelope).toCompletableFuture().exceptionally(e -> {
      throw brokerFailure(unwrap(e));
    });
  }

  CompletionStage<Void> forwardUpstream(ConnectionHandler c, String type, byte[] frame) {
    Map<String, String> headers = Map.of("user_id", c.principal().userId(), "connection_id", c.id(),
        "instance_id", instanceId);
    return endpoint.forwardUpstream(type, frame, headers).toCompletableFuture().exceptionally(e -> {
      throw brokerFailure(unwrap(e));
    });
  }

  private static GatewayException brokerFailure(Throwable cause) {
    if (cause instanceof GatewayException ge) {
      return ge;
    }
    String message = cause instanceof BrokerException be ? be.reason() + ": " + be.getMessage() : cause.toString();
    return new GatewayException(ErrorCodes.BROKER_UNAVAILABLE, "broker did not take the message: " + message, cause);
  }

  private static Throwable unwrap(Throwable error) {
    return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
  }

  /**
   * Delivers an envelope routed here. If the user has no session here any more (the sender looked up
   * a stale entry, or this is a restarted incarnation consuming its predecessor's inbox), it is routed
   * once more, to the other instances that hold the user now; if none does, to the user's sessions in
   * the recovery store.
   */
  private CompletionStage<Void> deliverUser(Envelope envelope, boolean orphan) {
    byte[] prefix = Protocol.messagePrefix(envelope.from(), null, envelope.data());
    List<CompletableFuture<?>> kept = recovery == null ? null : new ArrayList<>(2);
    if (deliverLocally(envelope.target(), envelope.id(), prefix, kept) > 0) {
      return kept == null ? DONE : CompletableFuture.allOf(kept.toArray(new CompletableFuture<?>[0]));
    }
    if (!orphan && instanceId.equals(envelope.origin())) {
      // Routed here by this instance's own re-route (or a predecessor's): no more hops between instances.
      return keepForOffline(envelope, prefix);
    }
    return retrying(() -> registry.instancesOf(envelope.target())).thenCompose(instances -> {
      List<CompletableFuture<Void>> sends = new ArrayList<>();
      for (String instance : instances) {
        if (!instance.equals(instanceId)) {
          sends.add(endpoint.sendToInstance(instance, Envelope.toUser(envelope.id(), envelope.target(),
              envelope.from(), envelope.data(), instanceId)).toCompletableFuture().exceptionally(e -> {
                log.warn("message {} for {}: re-route to {} failed: {}", envelope.id(), envelope.target(), instance,
                    e.toString());
                return null;
              }));
        }
      }
      if (sends.isEmpty()) {
        return keepForOffline(envelope, prefix);
      }
      return CompletableFuture.allOf(sends.toArray(new CompletableFuture<?>[0]));
    }).whenComplete((v, error) -> {
      if (error != null) {
        // The failed stage makes the broker hand the envelope to another instance (RabbitMQ: orphans).
        log.warn("message {} for {}: re-route failed: {}", envelope.id(), envelope.target(), error.toString());
      }
    });
  }

  /** Delays before the second and third try of a registry or store call that failed (e.g. timed out). */
  private static final long[] RETRY_DELAYS_MILLIS = {200, 800};

  /**
   * Calls {@code call}, trying again twice after a failure: a message already taken from a queue
   * should survive a registry or store hiccup (a timeout on a busy host), not be dropped by it.
   */
  private <T> CompletableFuture<T> retrying(java.util.function.Supplier<CompletionStage<T>> call) {
    CompletableFuture<T> result = new CompletableFuture<>();
    attempt(call, 0, result);
    return result;
  }

  private <T> void attempt(java.util.function.Supplier<CompletionStage<T>> call, int tried, CompletableFuture<T> result) {
    CompletionStage<T> stage;
    try {
      stage = call.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    stage.whenComplete((v, e) -> {
      if (e == null) {
        result.complete(v);
        return;
      }
      EventLoopGroup g = group;
      if (tried >= RETRY_DELAYS_MILLIS.length || g == null || g.isShuttingDown()) {
        result.completeExceptionally(e);
        return;
      }
      try {
        g.next().schedule(() -> attempt(call, tried + 1, result), RETRY_DELAYS_MILLIS[tried], TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException stopping) {
        result.completeExceptionally(e);
      }
    });
  }

  private CompletionStage<Void> keepForOffline(Envelope envelope, byte[] prefix) {
    return retrying(() -> deliverToStoredSessions(envelope.target(), envelope.id(), prefix)).thenApply(reached -> {
      if (!reached) {
        log.info("message {} for {}: the user has no session anywhere; dropped", envelope.id(), envelope.target());
      }
      return null;
    });
  }

  /**
   * Delivers to this instance's sessions of {@code userId}; adds to {@code kept} (when not null) a
   * stage per session that completes once the message is safe there.
   */
  private int deliverLocally(String userId, String messageId, byte[] prefix, List<CompletableFuture<?>> kept) {
    Set<SessionSink> targets = byUser.get(userId);
    if (targets == null) {
      return 0;
    }
    int n = 0;
    for (SessionSink sink : targets) {
      if (log.isDebugEnabled()) {
        log.debug("deliver {} to {} session {} via {}", messageId, userId, sink.sessionId(), sink.getClass().getSimpleName());
      }
      CompletionStage<Void> safe = sink.deliver(messageId, prefix);
      if (kept != null) {
        kept.add(safe.toCompletableFuture());
      }
      n++;
    }
    return n;
  }

  @Override
  public void onEnvelope(Envelope envelope) {
    handle(envelope);
  }

  @Override
  public CompletionStage<Void> handle(Envelope envelope) {
    switch (envelope.kind()) {
      case USER -> {
        return deliverUser(envelope, false);
      }
      case TOPIC -> {
        TopicState st = topics.get(envelope.target());
        if (st == null) {
          return DONE;
        }
        byte[] prefix = Protocol.messagePrefix(envelope.from(), envelope.target(), envelope.data());
        if (recovery == null) {
          fanOut(st.subscribers, envelope.id(), prefix);
          return DONE;
        }
        List<CompletableFuture<?>> kept = new ArrayList<>(st.subscribers.size());
        for (SessionSink sink : st.subscribers) {
          CompletionStage<Void> safe = sink.deliver(envelope.id(), prefix);
          if (kept != null) {
            kept.add(safe.toCompletableFuture());
          }
        }
        return kept == null ? DONE : CompletableFuture.allOf(kept.toArray(new CompletableFuture<?>[0]));
      }
      default -> {
        if (envelope.data().length == 0) {
          if (envelope.origin() != null) {
            String newOwner = envelope.sessionOwner() != null ? envelope.sessionOwner() : envelope.origin();
            onClaimed(envelope.target(), newOwner, envelope.origin());
          }
          return DONE;
        }
        ConnectionHandler live = sessions.get(envelope.target());
        if (Arrays.equals(envelope.data(), HANDED_OVER)) {
          if (live != null) {
            live.onHandedOver();
          }
          return DONE;
        }
        String owner = envelope.sessionOwner();
        if (owner == null) {
          if (live != null) {
            return live.deliverForwarded(envelope.id(), envelope.data());
          }
          DetachedSession d = detached.get(envelope.target());
          if (d != null) {
            return d.deliver(envelope.id(), envelope.data());
          }
          log.warn("session {}: forwarded message {} has no live connection here", envelope.target(), envelope.id());
          return DONE;
        }
        // Served here (live or detached) or not: deliverToOwner finds where it goes.
        return deliverToOwner(envelope.target(), owner, envelope.id(), envelope.data(), 0).<Void>thenApply(kept -> null)
            .whenComplete((v, e) -> {
              if (e != null) {
                log.warn("session {}: forwarded message {} not kept here: {}", envelope.target(), envelope.id(),
                    e.toString());
              }
            });
      }
    }
  }

  /**
   * Delivers one topic message to many connections with one task per event loop (not one per
   * subscriber), which writes the message, encoded once, to each of its connections and flushes
   * them ({@link FanOutLoop}).
   */
  private void fanOut(Set<SessionSink> subscribers, String messageId, byte[] prefix) {
    Map<io.netty.channel.EventLoop, List<ConnectionHandler>> byLoop = new java.util.IdentityHashMap<>();
    for (SessionSink sink : subscribers) {
      if (sink instanceof ConnectionHandler c) {
        byLoop.computeIfAbsent(c.channel().eventLoop(), l -> new ArrayList<>()).add(c);
      } else {
        sink.deliver(messageId, prefix);
      }
    }
    for (Map.Entry<io.netty.channel.EventLoop, List<ConnectionHandler>> e : byLoop.entrySet()) {
      List<ConnectionHandler> batch = e.getValue();
      FanOutLoop loop = fanOutLoops.computeIfAbsent(e.getKey(), l -> new FanOutLoop());
      loop.submitting();
      try {
        e.getKey().execute(() -> loop.run(batch, messageId, prefix));
      } catch (java.util.concurrent.RejectedExecutionException stopping) {
        loop.rejected();
        log.debug("fan-out of {} skipped: event loop stopping", messageId);
      }
    }
  }

  /**
   * An envelope that waited too long in the inbox of {@code deadInstance}, which crashed: routed
   * again from here. A user's message goes where the user is now, or to the user's sessions in the
   * recovery store; a session's message to its owner, or into the store for the dead one. A topic
   * message is not re-sent: the subscribers it was for were on the dead instance, and resume
   * elsewhere without it.
   */
  @Override
  public CompletionStage<Void> onOrphan(Envelope envelope, String deadInstance) {
    if (state == GatewayState.STOPPED) {
      return CompletableFuture.failedFuture(
          new BrokerException(BrokerException.Reason.UNAVAILABLE, "gateway " + instanceId + " is " + state));
    }
    switch (envelope.kind()) {
      case USER -> {
        return deliverUser(envelope, true);
      }
      case TOPIC -> {
        log.info("topic message {} on {} waited in the inbox of {}: not re-sent", envelope.id(), envelope.target(),
            deadInstance);
        return DONE;
      }
      default -> {
        String owner = envelope.sessionOwner();
        if (envelope.data().length == 0 || Arrays.equals(envelope.data(), HANDED_OVER) || owner == null) {
          // Hand-over control for an instance that is gone, or a forward without an owner: nothing to rescue.
          return DONE;
        }
        CompletableFuture<Boolean> kept = deliverToOwner(envelope.target(), owner, envelope.id(), envelope.data(),
            instanceOf(owner).equals(deadInstance));
        return kept.handle((v, e) -> {
          if (e != null) {
            log.warn("session {}: orphaned message {} not kept: {}", envelope.target(), envelope.id(), e.toString());
          }
          return null;
        });
      }
    }
  }

  @Override
  public CompletionStage<Void> onIngress(Envelope envelope) {
    if (envelope.kind() == Envelope.Kind.SESSION) {
      onEnvelope(envelope);
      return DONE;
    }
    if (state != GatewayState.RUNNING && state != GatewayState.DRAINING && state != GatewayState.DRAINED) {
      return CompletableFuture.failedFuture(
          new BrokerException(BrokerException.Reason.UNAVAILABLE, "gateway " + instanceId + " is " + state));
    }
    CompletionStage<Void> routed = envelope.kind() == Envelope.Kind.USER
        ? routeToUser(envelope.target(), envelope.from(), envelope.data(), envelope.id(), null)
        : publish(envelope.target(), envelope.from(), envelope.data());
    return routed.handle((v, e) -> {
      if (e == null) {
        return null;
      }
      Throwable cause = unwrap(e);
      log.info("ingress message {} to {} not delivered here: {}", envelope.id(), envelope.target(), cause.getMessage());
      // Worth one more try elsewhere: the user may be between instances in the registry.
      throw new BrokerException(BrokerException.Reason.NO_ROUTE, cause.getMessage(), cause);
    });
  }

  // ---- topics ----

  CompletionStage<Void> subscribe(SessionSink c, String topic) {
    if (!c.liveSubscriptions().add(topic)) {
      TopicState st = topics.get(topic);
      return st == null ? DONE : st.bound;
    }
    CompletableFuture<Void>[] bound = new CompletableFuture[1];
    topics.compute(topic, (t, st) -> {
      if (st == null) {
        st = new TopicState();
        CompletableFuture<Void> previous = pendingUnbinds.getOrDefault(t, DONE);
        st.bound = previous.handle((v, e) -> null)
            .thenCompose(v -> endpoint.subscribe(t))
            .toCompletableFuture();
      }
      st.subscribers.add(c);
      bound[0] = st.bound;
      return st;
    });
    return bound[0].exceptionally(e -> {
      throw brokerFailure(unwrap(e));
    });
  }

  CompletionStage<Void> unsubscribe(SessionSink c, String topic) {
    c.liveSubscriptions().remove(topic);
    topics.computeIfPresent(topic, (t, st) -> {
      st.subscribers.remove(c);
      if (!st.subscribers.isEmpty()) {
        return st;
      }
      CompletableFuture<Void> unbind = st.bound.handle((v, e) -> null)
          .thenCompose(v -> endpoint.unsubscribe(t)).toCompletableFuture();
      pendingUnbinds.put(t, unbind);
      unbind.whenComplete((v, e) -> pendingUnbinds.remove(t, unbind));
      return null;
    });
    return DONE;
  }

  @Override
  public String toString() {
    return "Gateway{instance=" + instanceId + ", port=" + boundPort + ", state=" + state + ", connections="
        + connections.size() + "}";
  }
}
