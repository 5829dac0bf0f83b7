package io.wsgateway.netty.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.wsgateway.CloseCodes;
import io.wsgateway.Connection;
import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.Principal;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.recovery.StoredMessage;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One upgraded WebSocket connection: reads client frames, runs the default protocol, and writes
 * sequenced messages. All mutable state is confined to the channel's event loop, except the fields
 * marked volatile or concurrent, which other threads read.
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter implements Connection {

  private static final Logger log = LoggerFactory.getLogger(ConnectionHandler.class);
  private static final int MAX_NAME_LENGTH = 256;
  /** Bound of messages held while the registry confirms a new connection (normally milliseconds). */
  private static final int MAX_BEFORE_WELCOME = 1024;
  /** How long a client may take to answer our close frame before the socket is closed anyway. */
  private static final int CLOSE_HANDSHAKE_TIMEOUT_SECONDS = 5;

  private final GatewayImpl gateway;
  private final GatewayOptions options;
  private final Channel channel;
  private final String id;
  private final String owner;
  /** The session asked to resume ({@code session} query parameter), or {@code null}. */
  private final String resumeSession;
  private final long resumeLastSeq;
  /** The session without a recovery store; with one, {@link StoreSession} has it. */
  private final String sessionId;
  /** The session in the recovery store, or {@code null} without one. */
  private final StoreSession session;
  /** Created on the first subscribe: most connections never subscribe, and an idle one stays small. */
  private volatile Set<String> subscriptions;
  /** With a recovery store: each subscription's position in its topic's history; on the event loop. */
  private Map<String, TopicCursor> cursors;
  private volatile Principal principal;
  private volatile boolean open = true;

  // Event-loop confined state.
  private ChannelHandlerContext ctx;
  /** Without a recovery store, the seq of the last direct message written: numbered here. */
  private long lastAssigned;
  /** This connection's sends and publishes leave in the order the client sent them; made on first use. */
  private SendOrder sendOrder;
  private long lastReadNanos;
  /** Frame rate, refresh rate and protocol-error count of this client (see docs/security.md). */
  private final InboundLimits limits;
  /** Every server frame but close frames passes here: buffer limit, slow-consumer policy, read pausing. */
  private final WriteGate gate;
  /** Whether a pong is queued and not yet taken by the socket: at most one is (RFC 6455 5.5.3). */
  private boolean pongPending;
  /** The latest ping that arrived while a pong was pending; answered once that pong is written. */
  private byte[] nextPong;
  private boolean flushScheduled;
  /**
   * Whether {@code message} frames may be written as pre-encoded wire bytes (see {@link
   * Protocol#wireMessage}): only when nothing between this handler and the socket but the plain
   * WebSocket frame encoder (and TLS) would touch them, i.e. no permessage-deflate. Set on upgrade.
   */
  private boolean wireFrames;
  /**
   * Without a recovery store, messages that arrived before the welcome frame was written (the
   * connection is routable locally before the registry confirms it): the welcome is always the first
   * frame. With a store, {@link StoreSession} and {@link TopicCursor} hold them.
   */
  private java.util.ArrayDeque<Pending> beforeWelcome;

  /** A message held before the welcome: a direct one ({@code topic} null) or a topic's. */
  private record Pending(String topic, byte[] prefix) {}

  private boolean closing;
  private int closeCode = CloseCodes.ABNORMAL;
  private String closeReason = "connection dropped";
  private ScheduledFuture<?> heartbeat;
  private ScheduledFuture<?> expiry;

  private final Runnable flushTask = this::flushNow;

  ConnectionHandler(GatewayImpl gateway, Channel channel, Principal principal, String resumeSession,
      long resumeLastSeq) {
    this.gateway = gateway;
    this.options = gateway.options();
    this.channel = channel;
    this.principal = principal;
    this.id = Ids.secret();
    // Only sessions in a recovery store have an owner string; without one it would be dead weight.
    this.owner = gateway.recovery() == null ? null : gateway.instanceId() + "/" + id;
    this.sessionId = Ids.secret();
    this.resumeSession = resumeSession;
    this.resumeLastSeq = resumeLastSeq;
    this.session = gateway.recovery() == null ? null : new StoreSession(gateway, this, sessionId);
    this.beforeWelcome = session == null ? new java.util.ArrayDeque<>() : null;
    this.limits = new InboundLimits(options, System.nanoTime());
    this.gate = new WriteGate(channel, options,
        () -> closeWith(CloseCodes.POLICY_VIOLATION, CloseCodes.REASON_SLOW_CONSUMER, true));
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  /** Called on the event loop once the 101 response was written. */
  void onUpgraded() {
    wireFrames = passesWireFrames(channel.pipeline());
    lastReadNanos = System.nanoTime();
    long pingNanos = options.pingInterval().toNanos();
    heartbeat = channel.eventLoop().scheduleAtFixedRate(this::heartbeat, pingNanos, pingNanos, TimeUnit.NANOSECONDS);
    scheduleExpiry();
    gateway.onConnected(this).whenComplete((ignored, error) -> onEventLoop(this::openSession));
  }

  /**
   * Whether pre-encoded frame bytes written on this pipeline reach the socket unchanged: its one
   * WebSocket frame encoder lets a {@code ByteBuf} pass (it only encodes {@code WebSocketFrame}s),
   * and so does TLS. Any other outbound handler (a permessage-deflate encoder, or one we do not
   * know) could need to see a frame, so then every frame goes through the encoders as usual. By the
   * time the 101 has been written the handshake has put its final handlers in place (the extension
   * handler adds its encoder from a listener that runs before ours).
   */
  private static boolean passesWireFrames(ChannelPipeline pipeline) {
    boolean encoder = false;
    for (Map.Entry<String, ChannelHandler> e : pipeline) {
      ChannelHandler h = e.getValue();
      if (h instanceof WebSocket08FrameEncoder) {
        encoder = true;
      } else if (h instanceof ChannelOutboundHandler && !(h instanceof SslHandler)) {
        return false;
      }
    }
    return encoder;
  }

  /** Opens the session: resumes the requested one when the store has it, else starts a new one. */
  private void openSession() {
    if (closing) {
      return;
    }
    if (session == null) {
      welcome(resumeSession == null ? null : Boolean.FALSE, resumeSession == null ? null : "recovery_disabled");
    } else {
      session.open(resumeSession, resumeLastSeq);
    }
  }

  /** Writes the welcome, always the first frame, then what was held for it (without a store). */
  void welcome(Boolean resumed, String reason) {
    Principal p = principal;
    Instant expiresAt = p.expiresAt();
    writeText(Protocol.welcome(sessionId(), id, p.userId(), gateway.instanceId(), options.pingInterval().toMillis(),
        expiresAt == null ? null : expiresAt.toEpochMilli(), resumed, reason), "welcome");
    java.util.ArrayDeque<Pending> held = beforeWelcome;
    beforeWelcome = null;
    if (held != null) {
      for (Pending m : held) {
        writeFrame(m.topic() == null ? ++lastAssigned : -1, m.prefix(), null);
      }
    }
  }

  // ---- Connection ----

  @Override
  public String id() {
    return id;
  }

  @Override
  public String sessionId() {
    return session == null ? sessionId : session.sessionId();
  }

  @Override
  public Principal principal() {
    return principal;
  }

  String userId() {
    return principal.userId();
  }

  String owner() {
    return owner;
  }

  /** Whether the connection is closing or closed: nothing more is written. Event loop only. */
  boolean isClosing() {
    return closing;
  }

  @Override
  public InetSocketAddress remoteAddress() {
    return (InetSocketAddress) channel.remoteAddress();
  }

  @Override
  public Set<String> subscriptions() {
    Set<String> s = subscriptions;
    return s == null ? Set.of() : Set.copyOf(s);
  }

  /** The topics this connection subscribes to (a live view, shared with the gateway's topic table). */
  Set<String> liveSubscriptions() {
    Set<String> s = subscriptions;
    if (s == null) {
      synchronized (this) {
        s = subscriptions;
        if (s == null) {
          s = ConcurrentHashMap.newKeySet();
          subscriptions = s;
        }
      }
    }
    return s;
  }

  @Override
  public boolean isOpen() {
    return open;
  }

  @Override
  public CompletionStage<Void> sendFrame(String text) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!open) {
      done.completeExceptionally(new GatewayException(ErrorCodes.UNAVAILABLE, "connection closed"));
      return done;
    }
    onEventLoop(() -> {
      if (closing || !gate.admit(WriteGate.Kind.REPLY)) {
        done.completeExceptionally(new GatewayException(ErrorCodes.UNAVAILABLE, "connection closed"));
        return;
      }
      ByteBuf buf = ctx.alloc().buffer(text.length() + 16);
      buf.writeCharSequence(text, StandardCharsets.UTF_8);
      channel.write(new TextWebSocketFrame(buf)).addListener(f -> {
        if (f.isSuccess()) {
          done.complete(null);
        } else {
          done.completeExceptionally(f.cause());
        }
      });
      scheduleFlush();
    });
    return done;
  }

  @Override
  public void close(int code, String reason) {
    onEventLoop(() -> closeWith(code, reason, false));
  }

  /** Tells the client to reconnect elsewhere after {@code delayMs}; the connection stays open. */
  void sendReconnectHint(long delayMs) {
    writeText(Protocol.reconnect(delayMs, CloseCodes.REASON_DRAINING), "reconnect");
  }

  // ---- delivery ----

  /**
   * A direct message without a recovery store: numbered here, on the event loop, so frames leave in
   * the order messages reach the connection. May be called from any thread.
   */
  void deliver(byte[] prefix) {
    onEventLoopOrDrop(() -> writeDirect(null, prefix));
  }

  /**
   * A direct message the recovery store appended to this connection's session at {@code seq} of
   * {@code epoch}; written in seq order. May be called from any thread.
   */
  void deliverSequenced(long seq, long epoch, String messageId, byte[] prefix) {
    session.deliver(seq, epoch, messageId, prefix);
  }

  /** Writes a message without a store's number; held until the welcome. */
  private void writeDirect(String topic, byte[] prefix) {
    if (closing) {
      return;
    }
    if (beforeWelcome != null) {
      if (beforeWelcome.size() >= MAX_BEFORE_WELCOME) {
        closeWith(CloseCodes.POLICY_VIOLATION, CloseCodes.REASON_SLOW_CONSUMER, true);
        return;
      }
      beforeWelcome.add(new Pending(topic, prefix));
      return;
    }
    writeFrame(topic == null ? ++lastAssigned : -1, prefix, null);
  }

  /** A session message the store numbered, in order (from {@link StoreSession}). */
  void writeSessionMessage(long seq, byte[] prefix) {
    writeFrame(seq, prefix, null);
  }

  /** A topic publication in offset order (from {@link TopicCursor}); {@code shared} may encode it. */
  void writeTopicMessage(long offset, byte[] prefix, SharedFrame shared) {
    writeFrame(offset, prefix, shared);
  }

  /** Runs {@code task} on the event loop; drops it if the loop no longer takes tasks (stopping). */
  private void onEventLoopOrDrop(Runnable task) {
    if (channel.eventLoop().inEventLoop()) {
      task.run();
    } else {
      try {
        channel.eventLoop().execute(task);
      } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
        // The instance is stopping and this connection with it: nothing left to write to.
      }
    }
  }

  /** The session was resumed by another connection: this one goes. */
  void takenOver() {
    onEventLoopOrDrop(() -> closeWith(CloseCodes.CLOSED_BY_HOST, CloseCodes.REASON_RESUMED_ELSEWHERE, false));
  }

  /** The recovery store lost its data: re-create this connection's session there. */
  void restoreSession() {
    if (session != null) {
      onEventLoopOrDrop(session::restore);
    }
  }

  private void writeFrame(long n, byte[] prefix, SharedFrame shared) {
    if (closing) {
      return;
    }
    if (!gate.admit(WriteGate.Kind.MESSAGE)) {
      return;
    }
    Object frame;
    if (!wireFrames) {
      frame = new TextWebSocketFrame(Protocol.message(ctx.alloc(), prefix, n));
    } else if (shared != null) {
      frame = shared.wireFrame(ctx.alloc());
    } else {
      // Encoded here, in one buffer, instead of a payload buffer that the frame encoder copies again.
      frame = Protocol.wireMessage(ctx.alloc(), prefix, n);
    }
    channel.write(frame, channel.voidPromise());
    gateway.countDelivered();
    gateway.listener().onMessageOut(this, "message");
    scheduleFlush();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    gate.writabilityChanged();
    ctx.fireChannelWritabilityChanged();
  }

  /** Writes a server text frame (welcome, ack, error, gap...) outside the message streams. */
  void writeText(String text, String type) {
    onEventLoop(() -> {
      if (closing) {
        return;
      }
      if (wireFrames) {
        writeOut(Protocol.wireText(ctx.alloc(), text), type);
      } else {
        ByteBuf buf = ctx.alloc().buffer(text.length() + 16);
        buf.writeCharSequence(text, StandardCharsets.UTF_8);
        writeOut(new TextWebSocketFrame(buf), type);
      }
    });
  }

  /**
   * Queues a server frame built here (on the event loop, not closing) if the write gate lets it pass;
   * the flush follows this pass.
   */
  private void writeOut(Object frame, String type) {
    if (!gate.admit(WriteGate.Kind.REPLY)) {
      ReferenceCountUtil.release(frame);
      return;
    }
    channel.write(frame, channel.voidPromise());
    gateway.listener().onMessageOut(this, type);
    scheduleFlush();
  }

  private void onEventLoop(Runnable task) {
    if (channel.eventLoop().inEventLoop()) {
      task.run();
    } else {
      channel.eventLoop().execute(task);
    }
  }

  /** Coalesces flushes: everything written in one event-loop pass leaves in one syscall. */
  private void scheduleFlush() {
    if (!flushScheduled) {
      flushScheduled = true;
      channel.eventLoop().execute(flushTask);
    }
  }

  /**
   * Writes one publication of a fan-out batch the caller runs on this connection's event loop,
   * without a flush task of its own: in offset order through the subscription's cursor when the
   * topic has a history, else at once.
   *
   * @return whether the caller now owes this connection a {@link #flushBatch}: false when a flush is
   *     already on its way (a flush task, or an earlier batch that owes one), which then also carries
   *     this write. Until the owed flush, other writes here leave their flush to it as well.
   */
  boolean writeInBatch(String topic, String messageId, long epoch, SharedFrame frame) {
    boolean owed = !flushScheduled;
    flushScheduled = true; // suppresses scheduleFlush(): whoever set it flushes
    if (closing) {
      return owed;
    }
    if (cursors != null) {
      TopicCursor cursor = cursors.get(topic);
      if (cursor != null) {
        cursor.offer(frame.number(), epoch, messageId, frame.prefix(), frame);
      }
    } else if (beforeWelcome != null) {
      writeDirect(topic, frame.prefix());
    } else {
      writeFrame(-1, frame.prefix(), frame);
    }
    return owed;
  }

  /** The flush owed after {@link #writeInBatch} returned true. */
  void flushBatch() {
    flushScheduled = false;
    channel.flush();
  }

  private void flushNow() {
    flushScheduled = false;
    channel.flush();
  }

  // ---- inbound ----

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof WebSocketFrame frame)) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      long now = System.nanoTime();
      lastReadNanos = now;
      if (frame instanceof CloseWebSocketFrame close) {
        onCloseFrame(close);
        return;
      }
      if (closing) {
        return; // after our close frame nothing the client sends is answered
      }
      // Charged before anything else is done with it: a frame that is malformed, or a control frame,
      // costs a token like any other.
      if (!limits.takeFrame(now)) {
        if (frame instanceof TextWebSocketFrame || frame instanceof BinaryWebSocketFrame) {
          // Not parsed, so its id is unknown: the error carries none.
          error(null, ErrorCodes.RATE_LIMITED, limits.frameLimitMessage());
        } else {
          protocolError(); // a ping or pong over the rate is dropped unanswered
        }
        return;
      }
      if (frame instanceof TextWebSocketFrame text) {
        onText(text.content());
      } else if (frame instanceof PingWebSocketFrame) {
        onPing(frame.content());
      } else if (frame instanceof PongWebSocketFrame) {
        // lastReadNanos is all a pong is for.
      } else if (frame instanceof BinaryWebSocketFrame binary) {
        if (options.acceptBinary()) {
          gateway.messageHandler().onBinary(this, ByteBufUtil.getBytes(binary.content()));
        } else {
          closeWith(CloseCodes.UNSUPPORTED_DATA, CloseCodes.REASON_BINARY_UNSUPPORTED, false);
        }
      }
    } finally {
      ReferenceCountUtil.release(frame);
    }
  }

  private void onCloseFrame(CloseWebSocketFrame close) {
    if (closing) {
      channel.close();
      return;
    }
    closing = true;
    int code = close.statusCode();
    closeCode = code < 0 ? CloseCodes.NORMAL : code;
    closeReason = close.reasonText();
    // Echo the close frame (RFC 6455 5.5.1), then close the socket.
    channel.writeAndFlush(new CloseWebSocketFrame(closeCode, ""))
        .addListener(ChannelFutureListener.CLOSE);
  }

  /**
   * Answers a ping with a pong, keeping at most one pong queued: while one waits for the socket, later
   * pings only replace the payload of the next one (RFC 6455 5.5.3 allows answering the latest ping only).
   */
  private void onPing(ByteBuf payload) {
    if (pongPending) {
      nextPong = ByteBufUtil.getBytes(payload); // at most 125 bytes: a control frame's limit
      return;
    }
    writePong(payload.retain());
  }

  private void writePong(ByteBuf payload) {
    if (closing || !gate.admit(WriteGate.Kind.REPLY)) {
      payload.release();
      return;
    }
    pongPending = true;
    channel.write(new PongWebSocketFrame(payload)).addListener(pongWritten);
    scheduleFlush();
  }

  private final ChannelFutureListener pongWritten = f -> {
    pongPending = false;
    byte[] next = nextPong;
    nextPong = null;
    if (next != null && f.isSuccess()) {
      writePong(Unpooled.wrappedBuffer(next));
    }
  };

  private void onText(ByteBuf content) {
    byte[] bytes = ByteBufUtil.getBytes(content);
    ClientFrame frame;
    try {
      frame = Protocol.parse(bytes);
    } catch (Protocol.MalformedFrameException e) {
      error(e.id, ErrorCodes.MALFORMED, e.getMessage());
      return;
    }
    gateway.listener().onMessageIn(this, frame.type());
    switch (frame.type()) {
      case Protocol.SEND -> onSend(frame);
      case Protocol.SUBSCRIBE -> onSubscribe(frame);
      case Protocol.UNSUBSCRIBE -> onUnsubscribe(frame);
      case Protocol.PUBLISH -> onPublish(frame);
      case Protocol.REFRESH -> onRefresh(frame);
      default -> onOtherType(frame, bytes);
    }
  }

  private void onSend(ClientFrame f) {
    if (!validName(f, "to", f.to()) || !hasData(f)) {
      return;
    }
    Principal p = principal;
    if (!gateway.authorizer().maySend(p, f.to())) {
      reply(f.id(), new GatewayException(ErrorCodes.NOT_AUTHORIZED, "not authorized to send to " + f.to()));
      return;
    }
    if (sendOrder == null) {
      sendOrder = new SendOrder();
    }
    CompletionStage<Void> routed = gateway.routeToUser(f.to(), p.userId(), f.data(), sendOrder);
    if (routed instanceof CompletableFuture<Void> done && done.isDone() && !done.isCompletedExceptionally()) {
      answer(f.id(), null); // delivered here already: no callback to allocate
    } else {
      routed.whenComplete((v, e) -> answer(f.id(), e));
    }
  }

  private void onSubscribe(ClientFrame f) {
    if (!validName(f, "topic", f.topic())) {
      return;
    }
    if (f.since() >= 0 && f.epoch() == null) {
      reply(f.id(), new GatewayException(ErrorCodes.MALFORMED, "subscribe with \"since\" needs \"epoch\""));
      return;
    }
    if (!gateway.authorizer().maySubscribe(principal, f.topic())) {
      reply(f.id(), new GatewayException(ErrorCodes.NOT_AUTHORIZED, "not authorized to subscribe to " + f.topic()));
      return;
    }
    Set<String> current = liveSubscriptions();
    if (!current.contains(f.topic()) && current.size() >= options.maxSubscriptionsPerConnection()) {
      reply(f.id(), new GatewayException(ErrorCodes.LIMIT_EXCEEDED,
          "subscription limit of " + options.maxSubscriptionsPerConnection() + " reached"));
      return;
    }
    String topic = f.topic();
    if (session == null) {
      gateway.subscribe(this, topic).whenComplete((v, e) -> answer(f.id(), e));
      return;
    }
    TopicCursor existing = cursors == null ? null : cursors.get(topic);
    if (existing != null) {
      // Subscribed already (or on the way): the position is unchanged, a since is not replayed.
      if (existing.started()) {
        writeText(Protocol.subscribeAck(f.id(), topic, existing.position(), Protocol.epochText(existing.epoch()), null,
            null), "ack");
      } else {
        answer(f.id(), null);
      }
      return;
    }
    if (cursors == null) {
      cursors = new java.util.HashMap<>();
    }
    TopicCursor cursor = new TopicCursor(this, gateway.recovery(), topic);
    cursors.put(topic, cursor);
    gateway.subscribe(this, topic).whenComplete((v, e) -> onEventLoop(() -> {
      if (!subscribed(cursor)) {
        return; // unsubscribed or closed meanwhile
      }
      if (e != null) {
        dropCursor(cursor);
        answer(f.id(), e);
      } else if (f.since() >= 0) {
        catchUp(f, cursor);
      } else {
        startAtPosition(f, cursor, null, null);
      }
    }));
  }

  private boolean subscribed(TopicCursor cursor) {
    return !closing && cursors != null && cursors.get(cursor.topic) == cursor;
  }

  private void dropCursor(TopicCursor cursor) {
    cursors.remove(cursor.topic, cursor);
    cursor.close();
    gateway.unsubscribe(this, cursor.topic);
  }

  /**
   * Resumes a subscription after the client's last offset: what the history has after it goes out
   * first (in order, with what arrives live meanwhile), when the epoch is the client's and nothing in
   * between was trimmed; else the subscription starts at the current position, and the ack says
   * why it did not catch up.
   */
  private void catchUp(ClientFrame f, TopicCursor cursor) {
    long since = f.since();
    long sinceEpoch = Protocol.parseEpoch(f.epoch());
    gateway.recovery().readTopic(cursor.topic, since).whenComplete((b, e) -> onEventLoop(() -> {
      if (!subscribed(cursor)) {
        return;
      }
      if (e == null && b.epoch() == sinceEpoch && !b.trimmed()) {
        writeText(Protocol.subscribeAck(f.id(), cursor.topic, since, Protocol.epochText(b.epoch()), Boolean.TRUE, null),
            "ack");
        long offset = b.firstOffset();
        for (StoredMessage m : b.messages()) {
          cursor.offer(offset++, b.epoch(), m.id(), m.frame(), null);
        }
        cursor.start(since, b.epoch());
      } else {
        String reason = e != null ? "store_unavailable" : b.epoch() != sinceEpoch ? "epoch_changed" : "trimmed";
        startAtPosition(f, cursor, Boolean.FALSE, reason);
      }
    }));
  }

  /** Starts a subscription at the topic's current position; the ack tells the client where that is. */
  private void startAtPosition(ClientFrame f, TopicCursor cursor, Boolean recovered, String reason) {
    gateway.recovery().topicPosition(cursor.topic).whenComplete((position, e) -> onEventLoop(() -> {
      if (!subscribed(cursor)) {
        return;
      }
      if (e != null) {
        dropCursor(cursor);
        reply(f.id(), new GatewayException(ErrorCodes.STORE_UNAVAILABLE,
            "could not subscribe to " + cursor.topic + ": the recovery store is unavailable"));
        return;
      }
      writeText(Protocol.subscribeAck(f.id(), cursor.topic, position.offset(), Protocol.epochText(position.epoch()),
          recovered, reason), "ack");
      cursor.start(position.offset(), position.epoch());
    }));
  }

  private void onUnsubscribe(ClientFrame f) {
    if (!validName(f, "topic", f.topic())) {
      return;
    }
    TopicCursor cursor = cursors == null ? null : cursors.remove(f.topic());
    if (cursor != null) {
      cursor.close();
    }
    gateway.unsubscribe(this, f.topic()).whenComplete((v, e) -> answer(f.id(), e));
  }

  private void onPublish(ClientFrame f) {
    if (!validName(f, "topic", f.topic()) || !hasData(f)) {
      return;
    }
    Principal p = principal;
    if (!gateway.authorizer().mayPublish(p, f.topic())) {
      reply(f.id(), new GatewayException(ErrorCodes.NOT_AUTHORIZED, "not authorized to publish to " + f.topic()));
      return;
    }
    if (sendOrder == null) {
      sendOrder = new SendOrder();
    }
    gateway.publish(f.topic(), p.userId(), f.data(), sendOrder).whenComplete((v, e) -> answer(f.id(), e));
  }

  private void onRefresh(ClientFrame f) {
    // Each refresh verifies a signature: far dearer than a frame, so it has a bucket of its own.
    if (!limits.takeRefresh(System.nanoTime())) {
      error(f.id(), ErrorCodes.RATE_LIMITED, limits.refreshLimitMessage());
      return;
    }
    if (f.token() == null || f.token().isEmpty()) {
      reply(f.id(), new GatewayException(ErrorCodes.MALFORMED, "refresh needs \"token\""));
      return;
    }
    Principal current = principal;
    gateway.authenticator().refresh(current, f.token()).whenComplete((result, error) -> onEventLoop(() -> {
      if (error != null) {
        reply(f.id(), new GatewayException(ErrorCodes.INTERNAL, "token check failed"));
      } else if (!result.isAccepted()) {
        reply(f.id(), new GatewayException(ErrorCodes.INVALID_TOKEN, result.code() + ": " + result.message()));
      } else if (!result.principal().userId().equals(current.userId())) {
        reply(f.id(), new GatewayException(ErrorCodes.INVALID_TOKEN, "token is for another user"));
      } else {
        principal = result.principal();
        scheduleExpiry();
        reauthorizeSubscriptions();
        answer(f.id(), null);
      }
    }));
  }

  private void onOtherType(ClientFrame f, byte[] frame) {
    if (Protocol.RESERVED.contains(f.type())) {
      reply(f.id(), new GatewayException(ErrorCodes.UNKNOWN_TYPE, "\"" + f.type() + "\" is not a client frame type"));
      return;
    }
    if (gateway.hasMessageHandler()) {
      gateway.messageHandler().onMessage(this, f.type(), new String(frame, StandardCharsets.UTF_8));
    } else if (options.forwardUpstream()) {
      gateway.forwardUpstream(this, f.type(), frame).whenComplete((v, e) -> answer(f.id(), e));
    } else {
      reply(f.id(), new GatewayException(ErrorCodes.UNKNOWN_TYPE, "no handler for type \"" + f.type() + "\""));
    }
  }

  private boolean validName(ClientFrame f, String field, String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_NAME_LENGTH) {
      reply(f.id(), new GatewayException(ErrorCodes.MALFORMED,
          f.type() + " needs \"" + field + "\" (1.." + MAX_NAME_LENGTH + " characters)"));
      return false;
    }
    return true;
  }

  private boolean hasData(ClientFrame f) {
    if (f.data() == null) {
      reply(f.id(), new GatewayException(ErrorCodes.MALFORMED, f.type() + " needs \"data\""));
      return false;
    }
    return true;
  }

  /** Acks on success when the client asked (an id); reports every failure, asked or not. */
  private void answer(String frameId, Throwable error) {
    if (error == null) {
      if (frameId == null) {
        return;
      }
      if (wireFrames && Protocol.isPlain(frameId) && channel.eventLoop().inEventLoop()) {
        // The usual ack (a plain id, answered on the loop): straight to wire bytes, one buffer.
        if (!closing) {
          writeOut(Protocol.wireAck(ctx.alloc(), frameId), "ack");
        }
      } else {
        writeText(Protocol.ack(frameId), "ack");
      }
    } else {
      reply(frameId, error);
    }
  }

  private void reply(String frameId, Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof GatewayException ge) {
      error(frameId, ge.code(), ge.getMessage());
    } else {
      log.warn("connection {}: unexpected failure", id, cause);
      writeText(Protocol.error(frameId, ErrorCodes.INTERNAL, "internal error"), "error");
    }
  }

  /**
   * Writes an error frame; one that answers a client's fault ({@code malformed}, {@code rate_limited},
   * {@code unknown_type}) also counts against its protocol-error limit, which ends the connection.
   */
  private void error(String frameId, String code, String message) {
    writeText(Protocol.error(frameId, code, message), "error");
    if (ErrorCodes.MALFORMED.equals(code) || ErrorCodes.RATE_LIMITED.equals(code)
        || ErrorCodes.UNKNOWN_TYPE.equals(code)) {
      protocolError();
    }
  }

  /** Counts one protocol error; one more than the window allows closes the connection with 1008. */
  private void protocolError() {
    onEventLoop(() -> {
      if (limits.protocolError(System.nanoTime())) {
        closeWith(CloseCodes.POLICY_VIOLATION, CloseCodes.REASON_PROTOCOL_ERRORS, false);
      }
    });
  }

  // ---- subscriptions and rights ----

  /**
   * After a refresh: drops, each with a {@code subscription_revoked} error, the topics the new
   * principal may not hold. (A resumed session holds none: its client subscribes again, and each
   * subscribe is authorized.)
   */
  private void reauthorizeSubscriptions() {
    Set<String> current = subscriptions;
    if (current == null) {
      return;
    }
    for (String topic : java.util.List.copyOf(current)) {
      if (!gateway.authorizer().maySubscribe(principal, topic)) {
        TopicCursor cursor = cursors == null ? null : cursors.remove(topic);
        if (cursor != null) {
          cursor.close();
        }
        gateway.unsubscribe(this, topic);
        revoked(topic);
      }
    }
  }

  private void revoked(String topic) {
    writeText(Protocol.subscriptionRevoked(topic), "error");
  }

  // ---- timers ----

  private void heartbeat() {
    if (expiry == null && principal.expiresAt() != null) {
      scheduleExpiry();
    }
    long silentNanos = System.nanoTime() - lastReadNanos;
    if (silentNanos >= options.idleTimeout().toNanos()) {
      closeWith(CloseCodes.POLICY_VIOLATION, CloseCodes.REASON_IDLE_TIMEOUT, false);
    } else if (!closing && gate.admit(WriteGate.Kind.PING)) {
      channel.write(new PingWebSocketFrame(Unpooled.EMPTY_BUFFER), channel.voidPromise());
      scheduleFlush();
    }
  }

  /**
   * Arms the token-expiry close when the expiry is less than one ping interval away; otherwise the
   * heartbeat tick arms it later, which spares an idle connection a second timer for its token.
   */
  private void scheduleExpiry() {
    if (expiry != null) {
      expiry.cancel(false);
      expiry = null;
    }
    Instant expiresAt = principal.expiresAt();
    if (expiresAt != null) {
      long delayMs = Math.max(0, expiresAt.toEpochMilli() - System.currentTimeMillis());
      if (delayMs <= options.pingInterval().toMillis()) {
        expiry = channel.eventLoop().schedule(
            () -> closeWith(CloseCodes.TOKEN_EXPIRED, CloseCodes.REASON_TOKEN_EXPIRED, false),
            delayMs, TimeUnit.MILLISECONDS);
      }
    }
  }

  // ---- closing ----

  /**
   * Sends a close frame and closes the socket once it is written; {@code immediately} closes without
   * waiting, for a client that does not read (its close frame would sit behind the full buffer).
   */
  void closeWith(int code, String reason, boolean immediately) {
    if (closing) {
      return;
    }
    closing = true;
    closeCode = code;
    closeReason = reason;
    gate.stopReading(); // nothing the client sends from now on is answered, so none of it is read
    CloseWebSocketFrame frame = new CloseWebSocketFrame(code, reason);
    if (immediately) {
      channel.writeAndFlush(frame, channel.voidPromise());
      channel.close();
    } else {
      channel.writeAndFlush(frame).addListener(ChannelFutureListener.CLOSE);
      // A client that never answers must not hold the socket.
      channel.eventLoop().schedule(() -> channel.close(), CLOSE_HANDSHAKE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof CorruptedWebSocketFrameException corrupted) {
      // The decoder already sent the close frame with its status (1007, 1009, 1002).
      if (!closing) {
        closing = true;
        closeCode = corrupted.closeStatus().code();
        closeReason = corrupted.closeStatus().reasonText();
      }
      channel.close();
    } else if (cause instanceof TooLongFrameException || cause instanceof DecompressionException) {
      // DecompressionException: a compressed message inflated past the size limit (a deflate bomb).
      closeWith(CloseCodes.MESSAGE_TOO_BIG, CloseCodes.REASON_TOO_BIG, false);
    } else if (cause instanceof CorruptedFrameException) {
      closeWith(CloseCodes.PROTOCOL_ERROR, "protocol error", false);
    } else {
      log.debug("connection {}: {}", id, cause.toString());
      if (!closing) {
        closing = true;
        closeCode = CloseCodes.ABNORMAL;
        closeReason = cause.getClass().getSimpleName();
      }
      channel.close();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    open = false;
    closing = true;
    // Held messages go with the connection: with a store, the session keeps them for the resume.
    beforeWelcome = null;
    if (session != null) {
      session.detach();
    }
    if (cursors != null) {
      for (TopicCursor cursor : cursors.values()) {
        cursor.close();
      }
      cursors = null;
    }
    cancel(heartbeat);
    cancel(expiry);
    gate.cancel();
    gateway.onDisconnected(this, closeCode, closeReason);
    ctx.fireChannelInactive();
  }

  private static void cancel(ScheduledFuture<?> future) {
    if (future != null) {
      future.cancel(false);
    }
  }

  Channel channel() {
    return channel;
  }

  @Override
  public String toString() {
    return "Connection{id=" + id + ", user=" + principal.userId() + ", remote=" + channel.remoteAddress() + "}";
  }
}
