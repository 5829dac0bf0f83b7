package io.wsgateway.client.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.wsgateway.client.ClientException;
import io.wsgateway.client.ClientListener;
import io.wsgateway.client.ClientMessage;
import io.wsgateway.client.ClientOptions;
import io.wsgateway.client.ClientState;
import io.wsgateway.client.GatewayClient;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's state machine. Every field below the volatile ones is confined to {@link #loop}: the
 * public methods only validate, count and hand over to it, so no locks guard the protocol state.
 */
public final class ClientImpl implements GatewayClient {

  private static final Logger log = LoggerFactory.getLogger(ClientImpl.class);

  /** How long to wait for the server's close echo before dropping the socket. */
  private static final long CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;
  /** How long {@link #close()} blocks at most, per step (close frame, group shutdown). */
  private static final long CLOSE_WAIT_MS = 2_000;
  /** The HTTP upgrade response is small; a refusal's JSON body fits easily. */
  private static final int MAX_HANDSHAKE_RESPONSE = 16 * 1024;
  /**
   * Server error codes (docs/protocol.md) that say a re-subscribe may succeed later: the recovery
   * store did not answer, or the client sent too much at once. Such a re-subscribe is retried with
   * backoff on the same connection instead of dropping the topic; its catch-up covers the wait.
   */
  private static final Set<String> RETRYABLE = Set.of("store_unavailable", "rate_limited");

  private final Supplier<URI> uriSupplier;
  private final Supplier<CompletionStage<String>> tokenSupplier;
  private final boolean refreshable;
  private final ClientListener listener;
  private final ClientOptions options;
  private final Backoff backoff;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  private final EventLoop loop;
  private final Class<? extends SocketChannel> channelType;

  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final CompletableFuture<Void> channelClosed = new CompletableFuture<>();
  private final Object connectLock = new Object();
  private CompletableFuture<Void> connectFuture; // guarded by connectLock
  private volatile ClientState state = ClientState.IDLE;
  private volatile String sessionId;

  // Confined to the event loop from here on.
  private final Delivery delivery = new Delivery(this::deliver, this::notifyError);
  private final ArrayDeque<Op> queue = new ArrayDeque<>();
  private final Map<String, Op> inflight = new HashMap<>();
  private final TopicPositions topics = delivery.topics();
  private Conn current;
  private int attempts;
  private ScheduledFuture<?> reconnectTimer;
  private ScheduledFuture<?> refreshTimer;
  private SslContext ssl;

  public ClientImpl(Supplier<URI> uriSupplier, Supplier<CompletionStage<String>> tokenSupplier, boolean refreshable,
      ClientListener listener, ClientOptions options, EventLoopGroup sharedGroup) {
    this.uriSupplier = uriSupplier;
    this.tokenSupplier = tokenSupplier;
    this.refreshable = refreshable;
    this.listener = listener;
    this.options = options;
    this.backoff = new Backoff(options.reconnectBackoffMin(), options.reconnectBackoffMax());
    if (sharedGroup != null) {
      this.group = sharedGroup;
      this.ownsGroup = false;
      this.channelType = sharedGroup instanceof IoEventLoopGroup io && io.isIoType(EpollIoHandler.class)
          ? EpollSocketChannel.class : NioSocketChannel.class;
    } else {
      boolean epoll = options.nativeTransport() && Epoll.isAvailable();
      this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("wsgateway-client"),
          epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
      this.ownsGroup = true;
      this.channelType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }
    this.loop = group.next();
  }

  // ---------------------------------------------------------------- public API, any thread

  @Override
  public CompletionStage<Void> connect() {
    CompletableFuture<Void> f;
    boolean start = false;
    synchronized (connectLock) {
      if (closed.get()) {
        return CompletableFuture.failedFuture(new ClientException(ClientException.CLIENT_CLOSED, "client is closed"));
      }
      if (connectFuture == null || connectFuture.isCompletedExceptionally()) {
        connectFuture = new CompletableFuture<>();
        start = true;
      }
      f = connectFuture;
    }
    if (start) {
      loop.execute(this::startConnecting);
    }
    return f;
  }

  @Override
  public CompletionStage<Void> send(String toUser, String jsonData) {
    Objects.requireNonNull(toUser, "toUser");
    Objects.requireNonNull(jsonData, "jsonData");
    return operation(Kind.SEND, "send", "to", toUser, jsonData);
  }

  @Override
  public CompletionStage<Void> subscribe(String topic) {
    return operation(Kind.SUBSCRIBE, "subscribe", "topic", Objects.requireNonNull(topic, "topic"), null);
  }

  @Override
  public CompletionStage<Void> unsubscribe(String topic) {
    return operation(Kind.UNSUBSCRIBE, "unsubscribe", "topic", Objects.requireNonNull(topic, "topic"), null);
  }

  @Override
  public CompletionStage<Void> publish(String topic, String jsonData) {
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(jsonData, "jsonData");
    return operation(Kind.PUBLISH, "publish", "topic", topic, jsonData);
  }

  @Override
  public CompletionStage<Void> sendFrame(String rawJsonFrame) {
    Objects.requireNonNull(rawJsonFrame, "rawJsonFrame");
    Frames.RawFrame raw;
    try {
      raw = Frames.inspect(rawJsonFrame);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(new ClientException(ClientException.INVALID_FRAME, e.getMessage()));
    }
    return submitFromCaller(new Op(Kind.RAW, raw.id(), rawJsonFrame, null, null, true));
  }

  @Override
  public ClientState state() {
    return state;
  }

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public long lastSeq() {
    return delivery.lastSeq();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    boolean onLoop = loop.inEventLoop();
    if (onLoop) {
      shutdown();
    } else {
      try {
        loop.execute(this::shutdown);
        channelClosed.get(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        log.debug("close did not finish within {} ms: {}", CLOSE_WAIT_MS, e.toString());
      }
    }
    if (ownsGroup) {
      var terminated = group.shutdownGracefully(0, CLOSE_WAIT_MS, TimeUnit.MILLISECONDS);
      if (!onLoop) {
        terminated.awaitUninterruptibly(CLOSE_WAIT_MS * 2);
      }
    }
  }

  @Override
  public String toString() {
    return "GatewayClient{state=" + state + ", session=" + sessionId + ", lastSeq=" + delivery.lastSeq() + "}";
  }

  private CompletionStage<Void> operation(Kind kind, String type, String key, String value, String data) {
    if (data != null) {
      try {
        Frames.checkValue(data);
      } catch (IllegalArgumentException e) {
        return CompletableFuture.failedFuture(
            new ClientException(ClientException.INVALID_FRAME, "jsonData: " + e.getMessage()));
      }
    }
    String id = nextId();
    return submitFromCaller(new Op(kind, id, Frames.operation(type, id, key, value, data), value, null, true));
  }

  private String nextId() {
    return "c" + ids.incrementAndGet();
  }

  private CompletionStage<Void> submitFromCaller(Op op) {
    if (closed.get()) {
      return CompletableFuture.failedFuture(new ClientException(ClientException.CLIENT_CLOSED, "client is closed"));
    }
    if (pending.incrementAndGet() > options.maxPendingSends()) {
      pending.decrementAndGet();
      return CompletableFuture.failedFuture(new ClientException(ClientException.CLIENT_OVERLOADED,
          "more than " + options.maxPendingSends() + " operations pending"));
    }
    try {
      loop.execute(() -> submit(op));
    } catch (RuntimeException rejected) { // the loop is shutting down: close() raced with this call
      op.fail(this, new ClientException(ClientException.CLIENT_CLOSED, "client is closed"));
    }
    return op.future;
  }

  // ---------------------------------------------------------------- event loop

  private void submit(Op op) {
    if (state == ClientState.CLOSED) {
      op.fail(this, new ClientException(ClientException.CLIENT_CLOSED, "client is closed"));
      return;
    }
    op.timeout = loop.schedule(() -> onAckTimeout(op), options.ackTimeout().toMillis(), TimeUnit.MILLISECONDS);
    if (op.kind == Kind.SUBSCRIBE) {
      topics.add(op.topic);
    } else if (op.kind == Kind.UNSUBSCRIBE) {
      topics.remove(op.topic);
    }
    if (state == ClientState.CONNECTED && current != null && current.welcomed) {
      write(current, op);
    } else {
      queue.add(op);
    }
  }

  private void write(Conn conn, Op op) {
    if (op.id != null) {
      inflight.put(op.id, op);
    }
    op.conn = conn;
    conn.channel.writeAndFlush(new TextWebSocketFrame(op.frame)).addListener(f -> {
      if (!f.isSuccess()) {
        // The connection is going down; its end fails what it carried (connection_lost).
        if (op.id == null) {
          op.fail(this, new ClientException(ClientException.CONNECTION_LOST, "write failed: " + f.cause()));
        }
      } else if (op.id == null) {
        op.succeed(this);
      }
    });
  }

  private void onAckTimeout(Op op) {
    if (op.future.isDone()) {
      return;
    }
    queue.remove(op);
    if (op.id != null) {
      inflight.remove(op.id, op);
    }
    String what = "no ack for " + op.kind.name().toLowerCase() + " within " + options.ackTimeout();
    if (op.kind == Kind.RESUBSCRIBE) {
      op.finish(this);
      retryResubscribe(op, what);
    } else if (op.kind == Kind.REFRESH) {
      op.finish(this);
      notifyError(ClientException.REFRESH_FAILED, what);
    } else {
      op.fail(this, new ClientException(ClientException.ACK_TIMEOUT, what));
    }
  }

  private void startConnecting() {
    if (state != ClientState.IDLE) {
      return;
    }
    setState(ClientState.CONNECTING);
    attempt();
  }

  private void attempt() {
    reconnectTimer = null;
    if (state == ClientState.CLOSED) {
      return;
    }
    Conn conn = new Conn();
    current = conn;
    conn.connectTimer = loop.schedule(() -> onConnectTimeout(conn), options.connectTimeout().toMillis(),
        TimeUnit.MILLISECONDS);
    URI base;
    CompletionStage<String> token;
    try {
      base = Objects.requireNonNull(uriSupplier.get(), "uriSupplier returned null");
      String scheme = base.getScheme();
      if (!"ws".equalsIgnoreCase(scheme) && !"wss".equalsIgnoreCase(scheme)) {
        throw new IllegalArgumentException("uri: " + base + " (expected: scheme ws or wss)");
      }
      token = Objects.requireNonNull(tokenSupplier.get(), "tokenSupplier returned null");
    } catch (RuntimeException e) {
      conn.failure = e.toString();
      attemptFailed(conn);
      return;
    }
    token.whenComplete((t, error) -> loop.execute(() -> {
      if (conn != current) {
        return;
      }
      if (error != null || t == null) {
        conn.failure = "token supplier failed: " + (error == null ? "null token" : error);
        attemptFailed(conn);
      } else {
        open(conn, base, t);
      }
    }));
  }

  private void open(Conn conn, URI base, String token) {
    URI uri;
    boolean tls = "wss".equalsIgnoreCase(base.getScheme());
    try {
      uri = withQuery(base, token);
      if (tls && ssl == null) {
        ssl = SslContextBuilder.forClient().build();
      }
    } catch (Exception e) {
      conn.failure = e.toString();
      attemptFailed(conn);
      return;
    }
    int port = base.getPort() != -1 ? base.getPort() : tls ? 443 : 80;
    String host = base.getHost();
    WebSocketClientProtocolConfig config = WebSocketClientProtocolConfig.newBuilder()
        .webSocketUri(uri)
        .version(WebSocketVersion.V13)
        .allowExtensions(false)
        .maxFramePayloadLength(options.maxMessageSize())
        .handleCloseFrames(false) // ClientHandler reads the close code: 4001 and 1008 matter
        .sendCloseFrame(null)     // close frames are written explicitly, with the code that applies
        .dropPongFrames(true)
        .handshakeTimeoutMillis(options.connectTimeout().toMillis())
        .generateOriginHeader(false)
        .build();
    SslContext sslContext = ssl;
    Bootstrap bootstrap = new Bootstrap()
        .group(loop)
        .channel(channelType)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis()))
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ChannelPipeline p = ch.pipeline();
            if (tls) {
              p.addLast(sslContext.newHandler(ch.alloc(), host, port));
            }
            p.addLast(new HttpClientCodec());
            p.addLast(new HttpObjectAggregator(MAX_HANDSHAKE_RESPONSE));
            p.addLast(new HandshakeSniffer(conn));
            p.addLast(new WebSocketClientProtocolHandler(config));
            p.addLast(new WebSocketFrameAggregator(options.maxMessageSize()));
            p.addLast(new ClientHandler(ClientImpl.this, conn));
          }
        });
    var connected = bootstrap.connect(host, port);
    conn.channel = connected.channel();
    connected.addListener(f -> {
      if (!f.isSuccess()) {
        conn.failure = "connect to " + host + ":" + port + " failed: " + f.cause();
        attemptFailed(conn);
      }
    });
  }

  private URI withQuery(URI base, String token) {
    StringBuilder q = new StringBuilder();
    if (base.getRawQuery() != null && !base.getRawQuery().isEmpty()) {
      q.append(base.getRawQuery()).append('&');
    }
    q.append("access_token=").append(encode(token));
    String session = sessionId;
    if (session != null) {
      q.append("&session=").append(encode(session)).append("&last_seq=").append(delivery.lastSeq());
    }
    String path = base.getRawPath() == null || base.getRawPath().isEmpty() ? "/" : base.getRawPath();
    return URI.create(base.getScheme() + "://" + base.getRawAuthority() + path + "?" + q);
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private void onConnectTimeout(Conn conn) {
    if (conn != current || conn.welcomed) {
      return;
    }
    conn.failure = "no welcome within " + options.connectTimeout();
    if (conn.channel != null) {
      conn.channel.close(); // its end (or failed connect) reports the attempt
    } else {
      attemptFailed(conn); // still waiting for the token
    }
  }

  private void attemptFailed(Conn conn) {
    conn.cancelTimers();
    if (conn.channel != null) {
      conn.channel.close();
    }
    if (conn != current) {
      return;
    }
    current = null;
    if (state == ClientState.CLOSED) {
      return;
    }
    String message = describeFailure(conn);
    boolean refused = conn.rejectStatus >= 400 && conn.rejectStatus < 500 && conn.rejectStatus != 429;
    if (refused && state == ClientState.CONNECTING && sessionId == null) {
      // The very first attempt was refused (bad token, wrong path): retrying cannot help, tell connect().
      String code = rejectCode(conn);
      setState(ClientState.IDLE);
      failConnect(new ClientException(code, message));
      return;
    }
    log.debug("connection attempt failed: {}", message);
    notifyError(ClientException.CONNECT_FAILED, message);
    setState(ClientState.RECONNECTING);
    scheduleReconnect();
  }

  private static String describeFailure(Conn conn) {
    if (conn.rejectStatus != 0) {
      return "handshake refused with HTTP " + conn.rejectStatus + (conn.rejectBody == null || conn.rejectBody.isEmpty()
          ? "" : ": " + conn.rejectBody);
    }
    if (conn.failure != null) {
      return conn.failure;
    }
    return "closed before the welcome (" + conn.closeCode + (conn.closeReason.isEmpty() ? "" : " " + conn.closeReason)
        + ")";
  }

  private static String rejectCode(Conn conn) {
    if (conn.rejectBody != null) {
      try {
        Frames.ServerFrame body = Frames.parse("{\"type\":\"rejection\"," + conn.rejectBody.strip().substring(1));
        if (body.code() != null) {
          return body.code();
        }
      } catch (RuntimeException notJson) {
        // fall through to the status
      }
      int at = conn.rejectBody.indexOf("\"error\":\"");
      if (at >= 0) {
        int end = conn.rejectBody.indexOf('"', at + 9);
        if (end > at) {
          return conn.rejectBody.substring(at + 9, end);
        }
      }
    }
    return "http_" + conn.rejectStatus;
  }

  private void scheduleReconnect() {
    long delay = backoff.delayMillis(attempts, () -> ThreadLocalRandom.current().nextDouble());
    attempts = Math.min(attempts + 1, 62);
    reconnectTimer = loop.schedule(this::attempt, delay, TimeUnit.MILLISECONDS);
  }

  void onText(Conn conn, String text) {
    if (conn != current) {
      return;
    }
    Frames.ServerFrame f;
    try {
      f = Frames.parse(text);
    } catch (IllegalArgumentException e) {
      log.warn("ignoring a frame that is not a protocol frame ({}): {}", e.getMessage(), abbreviate(text));
      return;
    }
    switch (f.type()) {
      case "welcome" -> onWelcome(conn, f);
      case "message" -> onMessage(conn, f);
      case "ack" -> onAck(f);
      case "error" -> onServerError(f);
      case "reconnect" -> onReconnectHint(conn, f);
      case "gap" -> onGap(conn, f);
      default -> safely(() -> listener.onFrame(f.type(), text));
    }
  }

  private void onWelcome(Conn conn, Frames.ServerFrame f) {
    if (conn.welcomed) {
      return;
    }
    conn.welcomed = true;
    if (conn.connectTimer != null) {
      conn.connectTimer.cancel(false);
    }
    String previous = sessionId;
    boolean resumed = previous != null && Boolean.TRUE.equals(f.resumed()) && previous.equals(f.session());
    String reason = f.reason() != null ? f.reason()
        : f.resumed() == null ? "unsupported" : Boolean.TRUE.equals(f.resumed()) ? "session_mismatch" : "unknown";
    sessionId = f.session();
    attempts = 0;
    if (!resumed) {
      delivery.newSession();
    }
    setState(ClientState.CONNECTED);
    if (previous != null && !resumed) {
      notifyError(ClientException.RESUME_FAILED, reason);
    }
    resubscribe(conn);
    scheduleRefresh(conn, f.expiresAt());
    while (!queue.isEmpty() && current == conn) {
      write(conn, queue.poll());
    }
    CompletableFuture<Void> cf;
    synchronized (connectLock) {
      cf = connectFuture;
    }
    if (cf != null) {
      cf.complete(null);
    }
  }

  /**
   * A connection's subscriptions end with it (a resumed session does not restore them): after every
   * welcome, subscribe again to every topic, with {@code since} and {@code epoch} when its position is
   * known so that the server sends what was published meanwhile. A topic whose first subscribe is
   * still queued is left to it.
   */
  private void resubscribe(Conn conn) {
    Set<String> queued = new HashSet<>();
    for (Op op : queue) {
      if (op.kind == Kind.SUBSCRIBE) {
        queued.add(op.topic);
      }
    }
    for (String topic : topics.topics()) {
      if (topics.epoch(topic) != null || !queued.contains(topic)) {
        resubscribe(conn, topic, 0);
      }
    }
  }

  private void resubscribe(Conn conn, String topic, int attempt) {
    String id = nextId();
    Op op = new Op(Kind.RESUBSCRIBE, id, Frames.subscribe(id, topic, topics.last(topic), topics.epoch(topic)), topic,
        null, false);
    op.attempt = attempt;
    write(conn, op.timed(this));
  }

  /**
   * Sends a re-subscribe again after a backoff, on the same connection, if it is still the current
   * one and the topic still subscribed (a new connection re-subscribes every topic anyway).
   */
  private void retryResubscribe(Op op, String why) {
    Conn conn = op.conn;
    long delay = backoff.delayMillis(op.attempt, () -> ThreadLocalRandom.current().nextDouble());
    log.info("re-subscribe to {} failed ({}), retrying in {} ms", op.topic, why, delay);
    loop.schedule(() -> {
      if (conn == current && !conn.closingByUs && state == ClientState.CONNECTED && topics.contains(op.topic)) {
        resubscribe(conn, op.topic, Math.min(op.attempt + 1, 62));
      }
    }, delay, TimeUnit.MILLISECONDS);
  }

  private void onMessage(Conn conn, Frames.ServerFrame f) {
    if (!conn.welcomed || conn.discarding || f.data() == null) {
      return;
    }
    if (!delivery.message(f)) {
      // Messages are missing: deliver nothing more of this connection; the reconnect recovers them.
      conn.discarding = true;
      closeByUs(conn, false);
    }
  }

  /** Ignored while discarding: the resume and catch-up after the reconnect report what is lost by then. */
  private void onGap(Conn conn, Frames.ServerFrame f) {
    if (conn.welcomed && !conn.discarding) {
      delivery.gap(f);
    }
  }

  private void deliver(ClientMessage m) {
    safely(() -> listener.onMessage(m));
  }

  private void onAck(Frames.ServerFrame f) {
    Op op = f.id() == null ? null : inflight.remove(f.id());
    delivery.ack(f);
    if (op == null) {
      return;
    }
    op.succeed(this);
    if (op.kind == Kind.REFRESH && op.conn == current) {
      long exp = Jwt.expiresAtMillis(op.token);
      if (exp > 0) {
        scheduleRefresh(op.conn, exp);
      }
      // An opaque token's expiry is unknown: the server closes with 4001 and the reconnect's welcome tells it.
    }
  }

  private void onServerError(Frames.ServerFrame f) {
    String code = f.code() == null ? "unknown" : f.code();
    String message = f.message() == null ? "" : f.message();
    Op op = f.id() == null ? null : inflight.remove(f.id());
    if (op == null) {
      notifyError(code, message);
      return;
    }
    switch (op.kind) {
      case REFRESH -> {
        op.finish(this);
        notifyError(ClientException.REFRESH_FAILED, code + ": " + message);
      }
      case RESUBSCRIBE -> {
        op.finish(this);
        if (RETRYABLE.contains(code)) {
          retryResubscribe(op, code + ": " + message);
        } else {
          topics.remove(op.topic);
          notifyError(ClientException.RESUBSCRIBE_FAILED, op.topic + ": " + code + ": " + message);
        }
      }
      case SUBSCRIBE -> {
        topics.remove(op.topic);
        op.fail(this, new ClientException(code, message));
      }
      default -> op.fail(this, new ClientException(code, message));
    }
  }

  private void onReconnectHint(Conn conn, Frames.ServerFrame f) {
    if (conn.hintTimer != null || conn.closingByUs) {
      return;
    }
    long delay = Math.max(0, f.delayMs());
    conn.hintTimer = loop.schedule(() -> {
      if (conn == current) {
        closeByUs(conn, true);
      }
    }, delay, TimeUnit.MILLISECONDS);
  }

  /** Starts the close handshake with 1000; the connection's end triggers the reconnect. */
  private void closeByUs(Conn conn, boolean reconnectNow) {
    if (conn.closingByUs) {
      return;
    }
    conn.closingByUs = true;
    conn.reconnectNow = reconnectNow;
    Channel ch = conn.channel;
    ch.writeAndFlush(new CloseWebSocketFrame(CloseCodes.NORMAL, ""));
    // Messages keep being read until the server's echo, so none written before it is lost.
    conn.forceCloseTimer = loop.schedule(() -> {
      ch.close();
    }, CLOSE_HANDSHAKE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  void onCloseFrame(Conn conn, int code, String reason) {
    Channel ch = conn.channel;
    if (conn.closingByUs) {
      ch.close(); // the echo of our close frame
      return;
    }
    conn.closeCode = code < 0 ? CloseCodes.NORMAL : code;
    conn.closeReason = reason == null ? "" : reason;
    // Echo the code, as RFC 6455 asks, then drop the socket; the end of the channel reconnects:
    // 4001 with a fresh token from the supplier, 1008 (idle timeout, slow consumer), 1013 (recovery store
    // unavailable: the backoff spreads the retries), 1000 and 1001 alike.
    ch.writeAndFlush(new CloseWebSocketFrame(code < 0 ? CloseCodes.NORMAL : code, ""))
        .addListener(ChannelFutureListener.CLOSE);
  }

  void onClosed(Conn conn) {
    conn.cancelTimers();
    if (conn != current) {
      return;
    }
    if (!conn.welcomed) {
      attemptFailed(conn);
      return;
    }
    current = null;
    failInflight(conn);
    cancel(refreshTimer);
    refreshTimer = null;
    if (state == ClientState.CLOSED) {
      return;
    }
    if (!conn.closingByUs) {
      String why = conn.failure != null ? conn.failure
          : conn.closeCode == CloseCodes.ABNORMAL ? "connection dropped (1006)"
          : "closed by the server: " + conn.closeCode + (conn.closeReason.isEmpty() ? "" : " " + conn.closeReason);
      log.debug("connection lost: {}", why);
      notifyError(ClientException.CONNECTION_LOST, why);
    }
    setState(ClientState.RECONNECTING);
    if (conn.reconnectNow) {
      attempt(); // a reconnect hint: the load balancer picks another instance, no reason to wait
    } else {
      scheduleReconnect();
    }
  }

  private void failInflight(Conn conn) {
    List<Op> lost = new ArrayList<>();
    inflight.values().removeIf(op -> {
      if (op.conn == conn) {
        lost.add(op);
        return true;
      }
      return false;
    });
    for (Op op : lost) {
      if (op.kind == Kind.REFRESH || op.kind == Kind.RESUBSCRIBE) {
        op.finish(this);
      } else {
        op.fail(this, new ClientException(ClientException.CONNECTION_LOST,
            "the connection closed before the ack; the server may or may not have handled it"));
      }
    }
  }

  private void scheduleRefresh(Conn conn, long expiresAtMillis) {
    cancel(refreshTimer);
    refreshTimer = null;
    if (!refreshable || expiresAtMillis <= 0) {
      return;
    }
    long remaining = expiresAtMillis - System.currentTimeMillis();
    long delay = Math.max(0, (long) (remaining * (1 - options.refreshAhead())));
    refreshTimer = loop.schedule(() -> refresh(conn), delay, TimeUnit.MILLISECONDS);
  }

  private void refresh(Conn conn) {
    refreshTimer = null;
    if (conn != current || state != ClientState.CONNECTED) {
      return;
    }
    CompletionStage<String> token;
    try {
      token = Objects.requireNonNull(tokenSupplier.get(), "tokenSupplier returned null");
    } catch (RuntimeException e) {
      notifyError(ClientException.REFRESH_FAILED, "token supplier failed: " + e);
      return;
    }
    token.whenComplete((t, error) -> loop.execute(() -> {
      if (conn != current) {
        return;
      }
      if (error != null || t == null) {
        notifyError(ClientException.REFRESH_FAILED, "token supplier failed: " + (error == null ? "null token" : error));
        return;
      }
      String id = nextId();
      Op op = new Op(Kind.REFRESH, id, Frames.operation("refresh", id, "token", t, null), null, t, false);
      write(conn, op.timed(this));
    }));
  }

  private void shutdown() {
    setState(ClientState.CLOSED);
    cancel(reconnectTimer);
    cancel(refreshTimer);
    ClientException closedError = new ClientException(ClientException.CLIENT_CLOSED, "client is closed");
    List<Op> all = new ArrayList<>(queue);
    all.addAll(inflight.values());
    queue.clear();
    inflight.clear();
    for (Op op : all) {
      op.fail(this, closedError);
    }
    failConnect(closedError);
    Conn conn = current;
    current = null;
    if (conn == null || conn.channel == null) {
      channelClosed.complete(null);
      return;
    }
    conn.cancelTimers();
    conn.channel.closeFuture().addListener(f -> channelClosed.complete(null));
    if (conn.welcomed && conn.channel.isActive()) {
      conn.channel.writeAndFlush(new CloseWebSocketFrame(CloseCodes.NORMAL, "")).addListener(ChannelFutureListener.CLOSE);
    } else {
      conn.channel.close();
    }
  }

  private void failConnect(ClientException error) {
    CompletableFuture<Void> cf;
    synchronized (connectLock) {
      cf = connectFuture;
    }
    if (cf != null) {
      cf.completeExceptionally(error);
    }
  }

  private void setState(ClientState to) {
    ClientState from = state;
    if (from == to) {
      return;
    }
    state = to;
    safely(() -> listener.onStateChanged(from, to));
  }

  private void notifyError(String code, String message) {
    safely(() -> listener.onError(code, message));
  }

  private static void safely(Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      log.warn("client listener threw", e);
    }
  }

  private static void cancel(ScheduledFuture<?> f) {
    if (f != null) {
      f.cancel(false);
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "...";
  }

  enum Kind { SEND, SUBSCRIBE, UNSUBSCRIBE, PUBLISH, RAW, REFRESH, RESUBSCRIBE }

  /** One operation: queued, then in flight until its ack, error, timeout or the end of its connection. */
  static final class Op {
    final Kind kind;
    final String id;
    final String frame;
    final String topic;
    final String token;
    /** Counted against maxPendingSends (application operations only). */
    final boolean counted;
    final CompletableFuture<Void> future = new CompletableFuture<>();
    ScheduledFuture<?> timeout;
    Conn conn;
    /** How many times this re-subscribe was tried before, for its backoff. */
    int attempt;
    private boolean finished;

    Op(Kind kind, String id, String frame, String topic, String token, boolean counted) {
      this.kind = kind;
      this.id = id;
      this.frame = frame;
      this.topic = topic;
      this.token = token;
      this.counted = counted;
    }

    /** Starts the ack timeout of an internal operation (application ones start it in submit). */
    Op timed(ClientImpl client) {
      timeout = client.loop.schedule(() -> client.onAckTimeout(this), client.options.ackTimeout().toMillis(),
          TimeUnit.MILLISECONDS);
      return this;
    }

    void finish(ClientImpl client) {
      if (finished) {
        return;
      }
      finished = true;
      cancel(timeout);
      if (counted) {
        client.pending.decrementAndGet();
      }
    }

    void succeed(ClientImpl client) {
      finish(client);
      future.complete(null);
    }

    void fail(ClientImpl client, ClientException error) {
      finish(client);
      future.completeExceptionally(error);
    }
  }
}
