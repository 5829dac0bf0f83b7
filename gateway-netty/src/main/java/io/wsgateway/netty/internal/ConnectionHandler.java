package io.wsgateway.netty.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.wsgateway.CloseCodes;
import io.wsgateway.Connection;
import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.Principal;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.SlowConsumerPolicy;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
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
  private final String sessionId;
  private final Set<String> subscriptions = ConcurrentHashMap.newKeySet();
  private volatile Principal principal;
  private volatile boolean open = true;

  // Event-loop confined state.
  private ChannelHandlerContext ctx;
  private long seq;
  private long lastReadNanos;
  private double rateTokens;
  private long rateRefilledNanos;
  private boolean flushScheduled;
  /**
   * Messages that arrived before the welcome frame was written (the connection is routable locally
   * before the registry confirms it): the welcome is always the first frame.
   */
  private java.util.ArrayDeque<byte[]> beforeWelcome = new java.util.ArrayDeque<>();
  private boolean closing;
  private int closeCode = CloseCodes.ABNORMAL;
  private String closeReason = "connection dropped";
  private ScheduledFuture<?> heartbeat;
  private ScheduledFuture<?> expiry;
  private ScheduledFuture<?> slowConsumerTimer;

  private final Runnable flushTask = this::flushNow;

  ConnectionHandler(GatewayImpl gateway, Channel channel, Principal principal) {
    this.gateway = gateway;
    this.options = gateway.options();
    this.channel = channel;
    this.principal = principal;
    this.id = Ids.random();
    this.sessionId = Ids.random();
    this.rateTokens = options.clientMessagesPerSecond();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  /** Called on the event loop once the 101 response was written. */
  void onUpgraded() {
    lastReadNanos = System.nanoTime();
    rateRefilledNanos = lastReadNanos;
    long pingNanos = options.pingInterval().toNanos();
    heartbeat = channel.eventLoop().scheduleAtFixedRate(this::heartbeat, pingNanos, pingNanos, TimeUnit.NANOSECONDS);
    scheduleExpiry();
    gateway.onConnected(this).whenComplete((ignored, error) -> onEventLoop(this::welcome));
  }

  private void welcome() {
    Principal p = principal;
    Instant expiresAt = p.expiresAt();
    writeText(Protocol.welcome(sessionId, id, p.userId(), gateway.instanceId(), options.pingInterval().toMillis(),
        expiresAt == null ? null : expiresAt.toEpochMilli()), "welcome");
    java.util.ArrayDeque<byte[]> early = beforeWelcome;
    beforeWelcome = null;
    for (byte[] prefix : early) {
      writeMessage(prefix);
    }
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
  public InetSocketAddress remoteAddress() {
    return (InetSocketAddress) channel.remoteAddress();
  }

  @Override
  public Set<String> subscriptions() {
    return Set.copyOf(subscriptions);
  }

  Set<String> liveSubscriptions() {
    return subscriptions;
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
      if (closing) {
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
   * Delivers one message of this session's stream: assigns the next seq on the event loop so the
   * order of seq and the order on the wire are the same.
   */
  void deliver(byte[] prefix) {
    if (channel.eventLoop().inEventLoop()) {
      writeMessage(prefix);
    } else {
      channel.eventLoop().execute(() -> writeMessage(prefix));
    }
  }

  private void writeMessage(byte[] prefix) {
    if (closing) {
      return;
    }
    if (beforeWelcome != null) {
      if (beforeWelcome.size() >= MAX_BEFORE_WELCOME) {
        closeWith(CloseCodes.POLICY_VIOLATION, CloseCodes.REASON_SLOW_CONSUMER, true);
        return;
      }
      beforeWelcome.add(prefix);
      return;
    }
    long n = ++seq;
    if (!channel.isWritable() && !admitWhileUnwritable()) {
      return;
    }
    channel.write(new TextWebSocketFrame(Protocol.message(ctx.alloc(), prefix, n)), channel.voidPromise());
    gateway.countDelivered();
    gateway.listener().onMessageOut(this, "message");
    scheduleFlush();
  }

  /** Applies the slow-consumer policy; returns whether the message may still be queued. */
  private boolean admitWhileUnwritable() {
    ChannelOutboundBuffer buffer = channel.unsafe().outboundBuffer();
    long pending = buffer == null ? 0 : buffer.totalPendingWriteBytes();
    if (pending >= options.writeBufferLimit()) {
      closeWith(CloseCodes.POLICY_VIOLATION, CloseCodes.REASON_SLOW_CONSUMER, true);
      return false;
    }
    if (options.slowConsumerPolicy() == SlowConsumerPolicy.DROP) {
      return false;
    }
    if (slowConsumerTimer == null) {
      slowConsumerTimer = channel.eventLoop().schedule(() -> {
        slowConsumerTimer = null;
        if (!channel.isWritable()) {
          closeWith(CloseCodes.POLICY_VIOLATION, CloseCodes.REASON_SLOW_CONSUMER, true);
        }
      }, options.slowConsumerGrace().toNanos(), TimeUnit.NANOSECONDS);
    }
    return true;
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (channel.isWritable() && slowConsumerTimer != null) {
      slowConsumerTimer.cancel(false);
      slowConsumerTimer = null;
    }
    ctx.fireChannelWritabilityChanged();
  }

  private void writeText(String text, String type) {
    onEventLoop(() -> {
      if (closing) {
        return;
      }
      ByteBuf buf = ctx.alloc().buffer(text.length() + 16);
      buf.writeCharSequence(text, StandardCharsets.UTF_8);
      channel.write(new TextWebSocketFrame(buf), channel.voidPromise());
      gateway.listener().onMessageOut(this, type);
      scheduleFlush();
    });
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
      lastReadNanos = System.nanoTime();
      if (frame instanceof TextWebSocketFrame text) {
        onText(text.content());
      } else if (frame instanceof PingWebSocketFrame) {
        channel.write(new PongWebSocketFrame(frame.content().retain()), channel.voidPromise());
        scheduleFlush();
      } else if (frame instanceof PongWebSocketFrame) {
        // lastReadNanos is all a pong is for.
      } else if (frame instanceof CloseWebSocketFrame close) {
        onCloseFrame(close);
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

  private void onText(ByteBuf content) {
    if (closing) {
      return;
    }
    byte[] bytes = ByteBufUtil.getBytes(content);
    ClientFrame frame;
    try {
      frame = Protocol.parse(bytes);
    } catch (Protocol.MalformedFrameException e) {
      writeText(Protocol.error(e.id, ErrorCodes.MALFORMED, e.getMessage()), "error");
      return;
    }
    if (!takeRateToken()) {
      writeText(Protocol.error(frame.id(), ErrorCodes.RATE_LIMITED,
          "more than " + options.clientMessagesPerSecond() + " frames per second"), "error");
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

  private boolean takeRateToken() {
    long now = System.nanoTime();
    int rate = options.clientMessagesPerSecond();
    rateTokens = Math.min(rate, rateTokens + (now - rateRefilledNanos) * rate / 1e9);
    rateRefilledNanos = now;
    if (rateTokens < 1) {
      return false;
    }
    rateTokens -= 1;
    return true;
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
    gateway.routeToUser(f.to(), p.userId(), f.data()).whenComplete((v, e) -> answer(f.id(), e));
  }

  private void onSubscribe(ClientFrame f) {
    if (!validName(f, "topic", f.topic())) {
      return;
    }
    if (!gateway.authorizer().maySubscribe(principal, f.topic())) {
      reply(f.id(), new GatewayException(ErrorCodes.NOT_AUTHORIZED, "not authorized to subscribe to " + f.topic()));
      return;
    }
    if (!subscriptions.contains(f.topic()) && subscriptions.size() >= options.maxSubscriptionsPerConnection()) {
      reply(f.id(), new GatewayException(ErrorCodes.LIMIT_EXCEEDED,
          "subscription limit of " + options.maxSubscriptionsPerConnection() + " reached"));
      return;
    }
    gateway.subscribe(this, f.topic()).whenComplete((v, e) -> answer(f.id(), e));
  }

  private void onUnsubscribe(ClientFrame f) {
    if (!validName(f, "topic", f.topic())) {
      return;
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
    gateway.publish(f.topic(), p.userId(), f.data()).whenComplete((v, e) -> answer(f.id(), e));
  }

  private void onRefresh(ClientFrame f) {
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
      if (frameId != null) {
        writeText(Protocol.ack(frameId), "ack");
      }
    } else {
      reply(frameId, error);
    }
  }

  private void reply(String frameId, Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof GatewayException ge) {
      writeText(Protocol.error(frameId, ge.code(), ge.getMessage()), "error");
    } else {
      log.warn("connection {}: unexpected failure", id, cause);
      writeText(Protocol.error(frameId, ErrorCodes.INTERNAL, "internal error"), "error");
    }
  }

  // ---- timers ----

  private void heartbeat() {
    long silentNanos = System.nanoTime() - lastReadNanos;
    if (silentNanos >= options.idleTimeout().toNanos()) {
      closeWith(CloseCodes.POLICY_VIOLATION, CloseCodes.REASON_IDLE_TIMEOUT, false);
    } else if (!closing) {
      channel.write(new PingWebSocketFrame(Unpooled.EMPTY_BUFFER), channel.voidPromise());
      scheduleFlush();
    }
  }

  private void scheduleExpiry() {
    if (expiry != null) {
      expiry.cancel(false);
      expiry = null;
    }
    Instant expiresAt = principal.expiresAt();
    if (expiresAt != null) {
      long delayMs = Math.max(0, expiresAt.toEpochMilli() - System.currentTimeMillis());
      expiry = channel.eventLoop().schedule(
          () -> closeWith(CloseCodes.TOKEN_EXPIRED, CloseCodes.REASON_TOKEN_EXPIRED, false),
          delayMs, TimeUnit.MILLISECONDS);
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
    cancel(heartbeat);
    cancel(expiry);
    cancel(slowConsumerTimer);
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
