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
import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.recovery.SessionState;
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
final class ConnectionHandler extends ChannelInboundHandlerAdapter implements Connection, SessionSink {

  private static final Logger log = LoggerFactory.getLogger(ConnectionHandler.class);
  private static final int MAX_NAME_LENGTH = 256;
  /** Bound of messages held while the registry confirms a new connection (normally milliseconds). */
  private static final int MAX_BEFORE_WELCOME = 1024;
  /** Bound of messages held behind a gap in store-assigned seqs. */
  private static final int MAX_OUT_OF_ORDER = 4096;
  /** How long a resumed session waits for its previous owner's hand-over before going on without. */
  private static final long HANDOVER_WAIT_MILLIS = 1_000;
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
  private volatile String sessionId;
  /** Whether the session is open in the recovery store (new or resumed), so it survives a disconnect. */
  private volatile boolean sessionOpen;
  /** Created on the first subscribe: most connections never subscribe, and an idle one stays small. */
  private volatile Set<String> subscriptions;
  private volatile Principal principal;
  private volatile boolean open = true;

  // Event-loop confined state.
  private ChannelHandlerContext ctx;
  /** Highest seq assigned to this session so far (by the store, or here without one). */
  private long lastAssigned;
  /** The seq the next frame on the wire carries: frames leave strictly in seq order. */
  private long nextToWrite = 1;
  /** Messages whose seq came back ahead of an earlier one still being appended. */
  private java.util.TreeMap<Long, byte[]> outOfOrder;
  /** Whether appends go to the recovery store; false without one, or after it failed. */
  private boolean recoverable;
  /**
   * A resumed session waits for its previous owner to hand over what it still had (forwarded
   * messages are written meanwhile, others held), so one sender's messages keep their order.
   */
  private boolean awaitingHandover;
  private ScheduledFuture<?> handoverTimer;
  /** Forwarded messages that arrived before the welcome; written right after the backlog. */
  private java.util.ArrayDeque<Pending> forwardedEarly;
  /** Recent message ids, with a recovery store only (see {@link RecentIds}); allocated on first use. */
  private RecentIds recentIds;
  /** This connection's sends leave in the order the client sent them; created on the first send. */
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
   * Messages that arrived before the welcome frame was written (the connection is routable locally
   * before the registry confirms it): the welcome is always the first frame.
   */
  private java.util.ArrayDeque<Pending> beforeWelcome = new java.util.ArrayDeque<>();

  private record Pending(String messageId, byte[] prefix, CompletableFuture<Void> safe) {}

  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);
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
    this.id = Ids.random();
    // Only sessions in a recovery store have an owner string; without one it would be dead weight.
    this.owner = gateway.recovery() == null ? null : gateway.instanceId() + "/" + id;
    this.sessionId = Ids.random();
    this.resumeSession = resumeSession;
    this.resumeLastSeq = resumeLastSeq;
    this.recoverable = gateway.recovery() != null;
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
    RecoveryStore store = gateway.recovery();
    if (store == null) {
      welcome(resumeSession == null ? null : Boolean.FALSE, resumeSession == null ? null : "recovery_disabled");
      return;
    }
    if (resumeSession == null) {
      startFresh(null);
      return;
    }
    // Listen for the session before claiming it: once claimed, the previous owner forwards what it
    // still receives, and that must find this connection (it is held until the backlog is written).
    gateway.onSessionOpening(resumeSession, this);
    store.claim(resumeSession, userId(), owner).whenComplete((state, error) -> onEventLoop(() -> {
      if (closing) {
        return;
      }
      if (error != null) {
        log.warn("connection {}: resume of {} failed: {}", id, resumeSession, error.toString());
        startFresh("store_unavailable");
      } else if (!state.known()) {
        startFresh("unknown_session");
      } else if (resumeLastSeq > state.lastSeq()) {
        startFresh("invalid_last_seq");
      } else {
        if (state.previousOwner() != null) {
          awaitingHandover = true;
          handoverTimer = channel.eventLoop().schedule(this::onHandedOver, HANDOVER_WAIT_MILLIS, TimeUnit.MILLISECONDS);
          gateway.notifyClaimed(state.previousOwner(), resumeSession);
        }
        store.read(resumeSession, resumeLastSeq).whenComplete((backlog, readError) -> onEventLoop(() -> {
          if (closing) {
            return;
          }
          long expected = state.lastSeq() - resumeLastSeq;
          if (readError != null) {
            startFresh("store_unavailable");
          } else if (backlog.trimmed() || backlog.messages().size() != expected) {
            startFresh("trimmed");
          } else {
            resume(state, backlog);
          }
        }));
      }
    }));
  }

  private void startFresh(String reason) {
    if (resumeSession != null) {
      gateway.onSessionAbandoned(resumeSession, this);
    }
    gateway.recovery().create(sessionId, userId(), owner).whenComplete((v, error) -> onEventLoop(() -> {
      if (error != null) {
        log.warn("connection {}: session not recoverable, store failed: {}", id, error.toString());
        recoverable = false;
      } else {
        sessionOpen = true;
        gateway.onSessionOpened(this);
      }
      welcome(resumeSession == null ? null : Boolean.FALSE, reason);
    }));
  }

  private void resume(SessionState state, Backlog backlog) {
    sessionId = resumeSession;
    recentIds = new RecentIds();
    lastAssigned = state.lastSeq();
    nextToWrite = resumeLastSeq + 1;
    sessionOpen = true;
    gateway.onSessionOpened(this);
    writeWelcome(Boolean.TRUE, null);
    long seq = backlog.firstSeq();
    for (StoredMessage m : backlog.messages()) {
      remember(m.id());
      writeSequenced(seq++, m.frame());
    }
    restoreSubscriptions(state.subscriptions());
    java.util.ArrayDeque<Pending> early = forwardedEarly;
    forwardedEarly = null;
    if (early != null) {
      for (Pending m : early) {
        if (isOfRevokedTopic(m.prefix())) {
          settle(m.safe());
        } else {
          writeNow(m.messageId(), m.prefix(), m.safe());
        }
      }
    }
    if (!awaitingHandover) {
      releaseHeld();
    }
  }

  /** The previous owner handed the session over (or we stopped waiting): live messages may flow. */
  void onHandedOver() {
    onEventLoop(() -> {
      if (!awaitingHandover) {
        return;
      }
      awaitingHandover = false;
      if (handoverTimer != null) {
        handoverTimer.cancel(false);
      }
      if (welcomed) {
        releaseHeld();
      }
    });
  }

  /** A message the session's previous owner forwarded: it goes ahead of messages held meanwhile. */
  CompletionStage<Void> deliverForwarded(String messageId, byte[] prefix) {
    CompletableFuture<Void> safe = new CompletableFuture<>();
    onEventLoop(() -> {
      if (!welcomed && !closing) {
        if (forwardedEarly == null) {
          forwardedEarly = new java.util.ArrayDeque<>();
        }
        forwardedEarly.add(new Pending(messageId, prefix, safe));
      } else if (isOfRevokedTopic(prefix)) {
        settle(safe);
      } else {
        writeNow(messageId, prefix, safe);
      }
    });
    return safe;
  }

  private void welcome(Boolean resumed, String reason) {
    writeWelcome(resumed, reason);
    releaseHeld();
  }

  private boolean welcomed;

  private void writeWelcome(Boolean resumed, String reason) {
    welcomed = true;
    Principal p = principal;
    Instant expiresAt = p.expiresAt();
    writeText(Protocol.welcome(sessionId, id, p.userId(), gateway.instanceId(), options.pingInterval().toMillis(),
        expiresAt == null ? null : expiresAt.toEpochMilli(), resumed, reason), "welcome");
  }

  private void releaseHeld() {
    java.util.ArrayDeque<Pending> early = beforeWelcome;
    beforeWelcome = null;
    if (early == null) {
      return;
    }
    for (Pending m : early) {
      writeMessage(m.messageId(), m.prefix(), m.safe());
    }
  }

  /** Records a message id; false if it was seen recently (a second copy during a handover). */
  private boolean remember(String messageId) {
    RecentIds recent = recentIds();
    return recent == null || recent.firstTime(messageId);
  }

  /** This session's recent ids, shared with the detached session that takes its place; null without a store. */
  RecentIds recentIds() {
    if (recentIds == null && gateway.recovery() != null) {
      recentIds = new RecentIds();
    }
    return recentIds;
  }

  // ---- Connection ----

  @Override
  public String id() {
    return id;
  }

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public Principal principal() {
    return principal;
  }

  @Override
  public String userId() {
    return principal.userId();
  }

  String owner() {
    return owner;
  }

  boolean isSessionOpen() {
    return sessionOpen;
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

  @Override
  public Set<String> liveSubscriptions() {
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
   * Delivers one message of this session's stream. The seq is assigned on the event loop (or by the
   * recovery store, in issue order) and frames leave in seq order.
   */
  @Override
  public CompletionStage<Void> deliver(String messageId, byte[] prefix) {
    // Without a recovery store a message is as safe as it gets once queued for the socket.
    CompletableFuture<Void> safe = gateway.recovery() == null ? null : new CompletableFuture<>();
    if (channel.eventLoop().inEventLoop()) {
      writeMessage(messageId, prefix, safe);
    } else {
      try {
        channel.eventLoop().execute(() -> writeMessage(messageId, prefix, safe));
      } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
        // The instance is stopping and this connection with it: nothing left to write to.
        settle(safe);
      }
    }
    return safe == null ? DONE : safe;
  }

  private static void settle(CompletableFuture<Void> safe) {
    if (safe != null) {
      safe.complete(null);
    }
  }

  private void writeMessage(String messageId, byte[] prefix, CompletableFuture<Void> safe) {
    writeMessage(messageId, prefix, safe, null);
  }

  /**
   * As above; {@code shared}, when not null, is the fan-out batch's encoding of {@code prefix}, used
   * only if the frame is written now (anything kept for later keeps {@code prefix}).
   */
  private void writeMessage(String messageId, byte[] prefix, CompletableFuture<Void> safe, SharedFrame shared) {
    if (closing) {
      if (recoverable && sessionOpen) {
        // The socket is going, the session is not: keep the message for the client's resume (once:
        // the detached session taking this one's place shares the recent ids).
        if (remember(messageId)) {
          keepForResume(messageId, prefix, safe);
        } else {
          settle(safe);
        }
        return;
      } else {
        log.info("connection {} closing: message {} for session {} dropped (recoverable {}, open {})", id, messageId,
            sessionId, recoverable, sessionOpen);
      }
      settle(safe);
      return;
    }
    if (beforeWelcome != null) {
      if (beforeWelcome.size() >= MAX_BEFORE_WELCOME) {
        closeWith(CloseCodes.POLICY_VIOLATION, CloseCodes.REASON_SLOW_CONSUMER, true);
        settle(safe);
        return;
      }
      beforeWelcome.add(new Pending(messageId, prefix, safe));
      return;
    }
    writeNow(messageId, prefix, safe, shared);
  }

  private void writeNow(String messageId, byte[] prefix, CompletableFuture<Void> safe) {
    writeNow(messageId, prefix, safe, null);
  }

  /** Sequences and writes a message now: appended to the session first when it is recoverable. */
  private void writeNow(String messageId, byte[] prefix, CompletableFuture<Void> safe, SharedFrame shared) {
    if (closing) {
      writeMessage(messageId, prefix, safe);
      return;
    }
    if (!remember(messageId)) {
      settle(safe);
      return;
    }
    if (!recoverable || !sessionOpen) {
      writeSequenced(++lastAssigned, prefix, shared);
      settle(safe);
      return;
    }
    gateway.recovery().append(sessionId, owner, messageId, prefix).whenComplete((result, error) -> onEventLoop(() -> {
      if (log.isDebugEnabled()) {
        log.debug("connection {} session {}: message {} append {} error {}, next to write {}", id, sessionId, messageId,
            result == null ? null : result.appended() + "/" + result.seq() + "/" + result.owner(), error, nextToWrite);
      }
      settle(safe);
      if (error != null) {
        // Without the store the session cannot be resumed, but the client still gets every message.
        log.warn("connection {}: recovery store failed, session {} no longer recoverable: {}", id, sessionId,
            error.toString());
        recoverable = false;
        writeSequenced(++lastAssigned, prefix);
      } else if (!result.appended()) {
        // The session was resumed on another connection: hand the message over and let this one go.
        if (result.owner() != null) {
          gateway.forwardToSession(result.owner(), sessionId, messageId, prefix);
        }
        sessionOpen = false;
        closeWith(CloseCodes.CLOSED_BY_HOST, "session resumed elsewhere", false);
      } else if (!recoverable) {
        writeSequenced(++lastAssigned, prefix);
      } else {
        lastAssigned = Math.max(lastAssigned, result.seq());
        writeSequenced(result.seq(), prefix);
      }
    }));
  }

  private void keepForResume(String messageId, byte[] prefix, CompletableFuture<Void> safe) {
    gateway.recovery().append(sessionId, owner, messageId, prefix).whenComplete((result, error) -> {
      if (error != null) {
        log.warn("session {}: message {} not kept for recovery: {}", sessionId, messageId, error.toString());
        settle(safe);
      } else if (!result.appended() && result.owner() != null) {
        gateway.forwardToSession(result.owner(), sessionId, messageId, prefix)
            .whenComplete((v, e) -> settle(safe));
      } else {
        settle(safe);
      }
    });
  }

  private void writeSequenced(long seq, byte[] prefix) {
    writeSequenced(seq, prefix, null);
  }

  /** Writes frames strictly in seq order, holding any that arrive ahead of a gap. */
  private void writeSequenced(long seq, byte[] prefix, SharedFrame shared) {
    if (seq < nextToWrite) {
      if (log.isDebugEnabled()) {
        log.debug("connection {} session {}: seq {} dropped, next to write {}", id, sessionId, seq, nextToWrite);
      }
      return;
    }
    if (seq > nextToWrite) {
      if (log.isDebugEnabled()) {
        log.debug("connection {} session {}: seq {} held, next to write {}", id, sessionId, seq, nextToWrite);
      }
      if (outOfOrder == null) {
        outOfOrder = new java.util.TreeMap<>();
      }
      outOfOrder.put(seq, prefix);
      if (outOfOrder.size() > MAX_OUT_OF_ORDER) {
        closeWith(CloseCodes.INTERNAL_ERROR, "message sequence gap", true);
      }
      return;
    }
    writeFrame(nextToWrite++, prefix, shared);
    while (outOfOrder != null && !outOfOrder.isEmpty() && outOfOrder.firstKey() == nextToWrite) {
      writeFrame(nextToWrite++, outOfOrder.pollFirstEntry().getValue(), null);
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
      frame = shared.wireFrame(ctx.alloc(), n);
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

  private void writeText(String text, String type) {
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
   * Writes one message of a fan-out batch the caller runs on this connection's event loop, without a
   * flush task of its own. Only without a recovery store (then the seq is assigned here,
   * synchronously).
   *
   * @return whether the caller now owes this connection a {@link #flushBatch}: false when a flush is
   *     already on its way (a flush task, or an earlier batch that owes one), which then also carries
   *     this write. Until the owed flush, other writes here leave their flush to it as well.
   */
  boolean writeInBatch(String messageId, SharedFrame frame) {
    boolean owed = !flushScheduled;
    flushScheduled = true; // suppresses scheduleFlush(): whoever set it flushes
    writeMessage(messageId, frame.prefix(), null, frame);
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

  /** Keeps the session's subscriptions in the store so a resume restores them. */
  private void saveSubscriptions() {
    if (recoverable && sessionOpen) {
      gateway.recovery().subscriptions(sessionId, owner, subscriptions()).exceptionally(e -> null);
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
    if (!gateway.authorizer().maySubscribe(principal, f.topic())) {
      reply(f.id(), new GatewayException(ErrorCodes.NOT_AUTHORIZED, "not authorized to subscribe to " + f.topic()));
      return;
    }
    if (revokedTopics != null) {
      revokedTopics.remove(f.topic()); // allowed again: forwarded messages of it may pass
    }
    Set<String> current = liveSubscriptions();
    if (!current.contains(f.topic()) && current.size() >= options.maxSubscriptionsPerConnection()) {
      reply(f.id(), new GatewayException(ErrorCodes.LIMIT_EXCEEDED,
          "subscription limit of " + options.maxSubscriptionsPerConnection() + " reached"));
      return;
    }
    gateway.subscribe(this, f.topic()).whenComplete((v, e) -> {
      saveSubscriptions();
      answer(f.id(), e);
    });
  }

  private void onUnsubscribe(ClientFrame f) {
    if (!validName(f, "topic", f.topic())) {
      return;
    }
    gateway.unsubscribe(this, f.topic()).whenComplete((v, e) -> {
      saveSubscriptions();
      answer(f.id(), e);
    });
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
    gateway.publish(f.topic(), p.userId(), f.data()).whenComplete((v, e) -> answer(f.id(), e));
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
   * Restores a resumed session's topics that the principal may still subscribe to; each of the others
   * is dropped with a {@code subscription_revoked} error (rights may have changed while it was away).
   */
  private void restoreSubscriptions(Set<String> topics) {
    boolean dropped = false;
    for (String topic : topics) {
      if (gateway.authorizer().maySubscribe(principal, topic)) {
        gateway.subscribe(this, topic);
      } else {
        if (revokedTopics == null) {
          revokedTopics = new java.util.HashSet<>();
        }
        revokedTopics.add(topic);
        revoked(topic);
        dropped = true;
      }
    }
    if (dropped) {
      saveSubscriptions();
    }
  }

  /** After a refresh: drops, each with a {@code subscription_revoked} error, the topics the new principal may not hold. */
  private void reauthorizeSubscriptions() {
    Set<String> current = subscriptions;
    if (current == null) {
      return;
    }
    boolean dropped = false;
    for (String topic : java.util.List.copyOf(current)) {
      if (!gateway.authorizer().maySubscribe(principal, topic)) {
        gateway.unsubscribe(this, topic);
        revoked(topic);
        dropped = true;
      }
    }
    if (dropped) {
      saveSubscriptions();
    }
  }

  /**
   * Topics dropped on resume, event-loop confined; {@code null} while there are none. The session's
   * previous holder stays subscribed for a short grace period after the hand-over and forwards what it
   * still receives: messages of these topics among them are not delivered.
   */
  private Set<String> revokedTopics;

  private boolean isOfRevokedTopic(byte[] prefix) {
    return revokedTopics != null && !revokedTopics.isEmpty() && revokedTopics.contains(Protocol.topicOf(prefix));
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
    java.util.ArrayDeque<Pending> forwarded = forwardedEarly;
    forwardedEarly = null;
    if (forwarded != null) {
      for (Pending m : forwarded) {
        writeMessage(m.messageId(), m.prefix(), m.safe());
      }
    }
    java.util.ArrayDeque<Pending> held = beforeWelcome;
    beforeWelcome = null;
    if (held != null) {
      // Messages that arrived before the welcome: the session keeps them if it is open, else they go.
      for (Pending m : held) {
        writeMessage(m.messageId(), m.prefix(), m.safe());
      }
    }
    cancel(heartbeat);
    cancel(expiry);
    cancel(handoverTimer);
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
