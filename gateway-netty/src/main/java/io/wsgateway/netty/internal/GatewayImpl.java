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
  static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);
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
  /** Each user's live connections here, for direct messages without a recovery store. */
  private final Map<String, Set<ConnectionHandler>> byUser = new ConcurrentHashMap<>();
  /** With a recovery store: live connections by their session id, for the store's notifications. */
  private final Map<String, ConnectionHandler> sessions = new ConcurrentHashMap<>();
  /** Routing through the recovery store, or {@code null} without one. */
  private final StoreRouter storeRouter;
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
  /** The host's {@code sendToUser} and {@code publish} calls leave in call order (see {@link SendOrder}). */
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
    final Set<ConnectionHandler> subscribers = ConcurrentHashMap.newKeySet();
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
    this.storeRouter = recovery == null ? null : new StoreRouter(this, recovery, instanceId);
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
      if (storeRouter != null) {
        storeRouter.watch(group);
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
    // A session whose detach never reached the store would look attached there until its TTL.
    awaitCondition(() -> pendingDetaches.get() == 0, Duration.ofSeconds(2));
    awaitQuietly(registry.setInstanceStatus(instanceId, InstanceStatus.GONE));
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
    return publish(topic, null, checkedPayload(data), hostOrder);
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
    byUser.computeIfPresent(userId, (u, set) -> {
      set.remove(c);
      return set.isEmpty() ? null : set;
    });
    for (String topic : List.copyOf(c.liveSubscriptions())) {
      unsubscribe(c, topic);
    }
    registry.unregister(new RegisteredConnection(c.id(), userId, instanceId)).exceptionally(e -> {
      log.debug("registry could not unregister connection {}: {}", c.id(), e.toString());
      return null;
    });
    listener.onDisconnected(c, code, reason);
    Drain d = activeDrain;
    if (d != null) {
      d.onDisconnected(c);
    }
  }

  /** A connection's session is in the store as its own: the store's notifications for it come here. */
  void onSessionOpened(String sessionId, ConnectionHandler c) {
    sessions.put(sessionId, c);
  }

  /** The connection's session is no longer its own (closed, abandoned). */
  void onSessionClosed(String sessionId, ConnectionHandler c) {
    sessions.remove(sessionId, c);
  }

  /** The live connection of {@code sessionId} here, if it is {@code owner} ({@code instance/connection}). */
  ConnectionHandler sessionConnection(String sessionId, String owner) {
    ConnectionHandler c = sessions.get(sessionId);
    return c != null && owner.equals(c.owner()) ? c : null;
  }

  /**
   * {@code sessionId} was claimed by a new connection while {@code previousOwner} still held it (a
   * client that came back over a half-open socket): that connection goes, here or on its instance.
   */
  void takeOver(String previousOwner, String sessionId) {
    String instance = StoreRouter.instanceOf(previousOwner);
    if (instance.equals(instanceId)) {
      closeTakenOver(previousOwner);
    } else {
      endpoint.sendToInstance(instance, Envelope.takeover(Ids.message(), sessionId, previousOwner, instanceId))
          .exceptionally(e -> null); // its instance is gone, and the connection with it
    }
  }

  private void closeTakenOver(String owner) {
    int slash = owner.lastIndexOf('/');
    ConnectionHandler c = slash < 0 ? null : connections.get(owner.substring(slash + 1));
    if (c != null && owner.equals(c.owner())) {
      c.takenOver();
    }
  }

  /** Detaches sent to the store and not yet answered; {@link #close()} waits for them. */
  private final AtomicInteger pendingDetaches = new AtomicInteger();

  void detachStarted() {
    pendingDetaches.incrementAndGet();
  }

  void detachDone() {
    pendingDetaches.decrementAndGet();
  }

  /** The recovery store lost its data: every live session here is re-created from its connection. */
  void restoreSessions() {
    for (ConnectionHandler c : connections.values()) {
      c.restoreSession();
    }
  }

  BrokerEndpoint endpoint() {
    return endpoint;
  }

  @Override
  public Collection<RegisteredConnection> liveConnections() {
    List<RegisteredConnection> live = new ArrayList<>(connections.size());
    for (ConnectionHandler c : connections.values()) {
      live.add(new RegisteredConnection(c.id(), c.userId(), instanceId));
    }
    return live;
  }

  // ---- routing ----

  /**
   * Routes a direct message: through the recovery store when there is one (see {@link StoreRouter});
   * else local connections get it at once, the registry names the other instances, and the broker
   * carries one envelope to each.
   */
  CompletionStage<Void> routeToUser(String toUser, String fromUser, byte[] data, SendOrder order) {
    return routeToUser(toUser, fromUser, data, Ids.message(), order, false);
  }

  /**
   * As above, with the message id given: a backend's id survives an ingress redelivery, and with
   * {@code dedupe} the store drops a second copy.
   */
  CompletionStage<Void> routeToUser(String toUser, String fromUser, byte[] data, String messageId,
      SendOrder order, boolean dedupe) {
    if (state == GatewayState.STOPPED) {
      return CompletableFuture.failedFuture(new GatewayException(ErrorCodes.UNAVAILABLE, "gateway closed"));
    }
    if (storeRouter != null) {
      return storeRouter.sendToUser(toUser, fromUser, data, messageId, order, dedupe);
    }
    byte[] prefix = Protocol.messagePrefix(fromUser, null, data);
    int local = deliverLocally(toUser, prefix);
    CompletionStage<Set<String>> lookup = registry.instancesOf(toUser);
    if (local > 0 && onlyHere(lookup)) {
      // Delivered here and held nowhere else, answered from memory (the in-memory registry, or the
      // Redis registry's near cache): done, without the chain of stages below.
      return DONE;
    }
    CompletableFuture<Void> routed = new CompletableFuture<>();
    java.util.function.BiConsumer<Set<String>, Throwable> dispatch = (instances, error) -> {
      CompletableFuture<Void> sent;
      try {
        sent = dispatch(toUser, fromUser, data, messageId, local, instances, error);
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

  /** The second step of {@link #routeToUser} without a store: once the lookup answered, in order. */
  private CompletableFuture<Void> dispatch(String toUser, String fromUser, byte[] data, String messageId, int local,
      Set<String> instances, Throwable error) {
    if (error != null) {
      Throwable cause = unwrap(error);
      String detail = local > 0 ? " (delivered to " + local + " local connection(s))" : "";
      return CompletableFuture.failedFuture(
          new GatewayException(ErrorCodes.REGISTRY_UNAVAILABLE, "registry lookup failed" + detail, cause));
    }
    List<CompletableFuture<Boolean>> sends = new ArrayList<>(instances.size());
    for (String instance : instances) {
      if (!instance.equals(instanceId)) {
        Envelope envelope = Envelope.toUser(messageId, toUser, fromUser, data, instanceId);
        sends.add(sendToInstance(instance, envelope));
      }
    }
    return CompletableFuture.allOf(sends.toArray(new CompletableFuture<?>[0])).thenApply(v -> {
      if (local == 0 && sends.stream().noneMatch(CompletableFuture::join)) {
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

  /**
   * Publishes to a topic: through the recovery store when there is one (the publication is kept in
   * the topic's history and numbered), else straight to the broker.
   */
  CompletionStage<Void> publish(String topic, String fromUser, byte[] data, SendOrder order) {
    return publish(topic, fromUser, data, Ids.message(), order, false);
  }

  CompletionStage<Void> publish(String topic, String fromUser, byte[] data, String messageId, SendOrder order,
      boolean dedupe) {
    if (state == GatewayState.STOPPED) {
      return CompletableFuture.failedFuture(new GatewayException(ErrorCodes.UNAVAILABLE, "gateway closed"));
    }
    if (storeRouter != null) {
      return storeRouter.publish(topic, fromUser, data, messageId, order, dedupe);
    }
    Envelope envelope = Envelope.toTopic(messageId, topic, fromUser, data, instanceId);
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

  static GatewayException brokerFailure(Throwable cause) {
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
   * Delivers a user's envelope routed here (without a recovery store). If the user has no connection
   * here any more (the sender looked up a stale entry, or this is a restarted incarnation consuming
   * its predecessor's inbox), it is routed once more, to the other instances that hold the user now.
   */
  private CompletionStage<Void> deliverUser(Envelope envelope, boolean orphan) {
    byte[] prefix = Protocol.messagePrefix(envelope.from(), null, envelope.data());
    if (deliverLocally(envelope.target(), prefix) > 0) {
      return DONE;
    }
    if (!orphan && instanceId.equals(envelope.origin())) {
      // Routed here by this instance's own re-route (or a predecessor's): no more hops between instances.
      log.info("message {} for {}: the user has no connection anywhere; dropped", envelope.id(), envelope.target());
      return DONE;
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
        log.info("message {} for {}: the user has no connection anywhere; dropped", envelope.id(), envelope.target());
      }
      return CompletableFuture.allOf(sends.toArray(new CompletableFuture<?>[0]));
    }).whenComplete((v, error) -> {
      if (error != null) {
        // The failed stage makes the broker hand the envelope to another instance (RabbitMQ: orphans).
        log.warn("message {} for {}: re-route failed: {}", envelope.id(), envelope.target(), error.toString());
      }
    });
  }

  /** Delays before the second and third try of a registry call that failed (e.g. timed out). */
  private static final long[] RETRY_DELAYS_MILLIS = {200, 800};

  /**
   * Calls {@code call}, trying again twice after a failure: a message already taken from a queue
   * should survive a registry hiccup (a timeout on a busy host), not be dropped by it.
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

  /** Writes a direct message to this instance's connections of {@code userId} (without a store). */
  private int deliverLocally(String userId, byte[] prefix) {
    Set<ConnectionHandler> targets = byUser.get(userId);
    if (targets == null) {
      return 0;
    }
    int n = 0;
    for (ConnectionHandler c : targets) {
      c.deliver(prefix);
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
        if (st != null) {
          boolean history = envelope.epoch() != 0;
          byte[] prefix = Protocol.topicPrefix(envelope.from(), envelope.target(), envelope.data(), history);
          fanOut(st.subscribers, envelope.target(), envelope.id(), prefix, history ? envelope.seq() : -1,
              envelope.epoch());
        }
        return DONE;
      }
      case SESSION -> {
        ConnectionHandler c = sessionConnection(envelope.target(), envelope.sessionOwner());
        if (c != null) {
          c.deliverSequenced(envelope.seq(), envelope.epoch(), envelope.id(), envelope.data());
        }
        // Not here (closed meanwhile): the store has it, and the client reads it when it resumes.
        return DONE;
      }
      case TAKEOVER -> {
        closeTakenOver(envelope.sessionOwner());
        return DONE;
      }
      default -> {
        return DONE;
      }
    }
  }

  /**
   * Delivers one topic message to many connections with one task per event loop (not one per
   * subscriber), which writes the message, encoded once, to each of its connections and flushes
   * them ({@link FanOutLoop}).
   */
  private void fanOut(Set<ConnectionHandler> subscribers, String topic, String messageId, byte[] prefix, long offset,
      long epoch) {
    Map<io.netty.channel.EventLoop, List<ConnectionHandler>> byLoop = new java.util.IdentityHashMap<>();
    for (ConnectionHandler c : subscribers) {
      byLoop.computeIfAbsent(c.channel().eventLoop(), l -> new ArrayList<>()).add(c);
    }
    for (Map.Entry<io.netty.channel.EventLoop, List<ConnectionHandler>> e : byLoop.entrySet()) {
      List<ConnectionHandler> batch = e.getValue();
      FanOutLoop loop = fanOutLoops.computeIfAbsent(e.getKey(), l -> new FanOutLoop());
      loop.submitting();
      try {
        e.getKey().execute(() -> loop.run(batch, topic, messageId, prefix, offset, epoch));
      } catch (java.util.concurrent.RejectedExecutionException stopping) {
        loop.rejected();
        log.debug("fan-out of {} skipped: event loop stopping", messageId);
      }
    }
  }

  /**
   * An envelope that waited too long in the inbox of {@code deadInstance}, which crashed: routed
   * again from here. A user's message (without a store) goes where the user is now. A topic message
   * is not re-sent: the subscribers it was for were on the dead instance, and catch up from the
   * topic's history when they subscribe again (with a store). A session's message is in the store
   * already, and its client reads it when it resumes.
   */
  @Override
  public CompletionStage<Void> onOrphan(Envelope envelope, String deadInstance) {
    if (state == GatewayState.STOPPED) {
      return CompletableFuture.failedFuture(
          new BrokerException(BrokerException.Reason.UNAVAILABLE, "gateway " + instanceId + " is " + state));
    }
    if (envelope.kind() == Envelope.Kind.USER) {
      return deliverUser(envelope, true);
    }
    log.debug("{} envelope {} waited in the inbox of {}: not re-sent", envelope.kind(), envelope.id(), deadInstance);
    return DONE;
  }

  @Override
  public CompletionStage<Void> onIngress(Envelope envelope) {
    if (envelope.kind() != Envelope.Kind.USER && envelope.kind() != Envelope.Kind.TOPIC) {
      onEnvelope(envelope);
      return DONE;
    }
    if (state != GatewayState.RUNNING && state != GatewayState.DRAINING && state != GatewayState.DRAINED) {
      return CompletableFuture.failedFuture(
          new BrokerException(BrokerException.Reason.UNAVAILABLE, "gateway " + instanceId + " is " + state));
    }
    // A backend's id is the message's id: a redelivered copy is recognised (dedupe) and dropped.
    CompletionStage<Void> routed = envelope.kind() == Envelope.Kind.USER
        ? routeToUser(envelope.target(), envelope.from(), envelope.data(), envelope.id(), null, true)
        : publish(envelope.target(), envelope.from(), envelope.data(), envelope.id(), null, true);
    return routed.handle((v, e) -> {
      if (e == null) {
        return null;
      }
      Throwable cause = unwrap(e);
      log.info("ingress message {} to {} not routed here: {}", envelope.id(), envelope.target(), cause.getMessage());
      // Worth another try, in place (later messages for the recipient wait): the store or the broker
      // may answer again in a moment, and a user without a session may be one whose session the store
      // lost and its instance is restoring. A broker that gives up dead-letters it, which tells the
      // backend; nothing is dropped silently.
      throw new BrokerException(BrokerException.Reason.NO_ROUTE, cause.getMessage(), cause);
    });
  }

  // ---- topics ----

  CompletionStage<Void> subscribe(ConnectionHandler c, String topic) {
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

  CompletionStage<Void> unsubscribe(ConnectionHandler c, String topic) {
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
