package io.wsgateway.netty.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.util.concurrent.ScheduledFuture;
import io.wsgateway.HttpReply;
import io.wsgateway.HttpRoute;
import io.wsgateway.auth.AuthResult;
import io.wsgateway.netty.GatewayOptions;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP stage of a channel: answers health, readiness and host routes, and turns a handshake on
 * the WebSocket path into a connection, after origin, rate, admission and authentication checks. Every
 * rejection is an HTTP status with a JSON body naming the reason; no WebSocket is opened then. On the
 * admin listener it serves the admin routes behind an {@link AdminGuard}.
 */
final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

  private static final Logger log = LoggerFactory.getLogger(HttpHandler.class);
  static final String HEALTH_PATH = "/health";
  static final String READY_PATH = "/ready";
  /** Seconds a refused client is asked to wait before retrying. */
  private static final String RETRY_AFTER_SECONDS = "5";

  static final String ADMIN_STATE_PATH = "/admin/state";
  /** Query parameters of a resuming client: its session id and the last seq it received. */
  static final String SESSION_PARAM = "session";
  static final String LAST_SEQ_PARAM = "last_seq";
  private static final java.util.regex.Pattern SESSION_ID = java.util.regex.Pattern.compile("[A-Za-z0-9_-]{1,64}");
  static final String ADMIN_DRAIN_PATH = "/admin/drain";
  /** Every path under it is an admin route, behind the {@link AdminGuard} (health and readiness are not). */
  static final String ADMIN_PREFIX = "/admin/";
  static final String AUTH_TIMEOUT = "auth_timeout";
  static final String HANDSHAKE_RATE_LIMITED = "handshake_rate_limited";

  private final GatewayImpl gateway;
  /** Whether this is the admin listener: no WebSocket, no host routes, but the admin endpoints. */
  private final boolean admin;
  private final AdminGuard adminGuard;
  /** The per-address handshake limit shared by the listener's channels, or {@code null} when off. */
  private final HandshakeRateLimiter handshakeLimiter;
  private ScheduledFuture<?> handshakeTimeout;
  private boolean upgrading;
  // Authentication in progress: the retained request and its deadline. Touched on the event loop only;
  // whichever comes first (result, deadline or disconnect) takes the request, releases it and the slot.
  private FullHttpRequest pendingRequest;
  private ScheduledFuture<?> authDeadline;

  /**
   * @param adminGuard the admin routes' guard on the admin listener, {@code null} on the public one
   * @param handshakeLimiter the listener's per-address handshake limit, or {@code null} for none
   */
  HttpHandler(GatewayImpl gateway, AdminGuard adminGuard, HandshakeRateLimiter handshakeLimiter) {
    this.gateway = gateway;
    this.admin = adminGuard != null;
    this.adminGuard = adminGuard;
    this.handshakeLimiter = handshakeLimiter;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    // A client that does not complete a request in time (slowloris, or an idle keep-alive) is cut.
    handshakeTimeout = ctx.executor().schedule(() -> {
      if (!upgrading) {
        ctx.close();
      }
    }, gateway.options().handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS);
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelTimeout();
    // A client gone while its authentication runs gives its slot back now, not when (or if) it ends.
    FullHttpRequest abandoned = takePendingRequest();
    if (abandoned != null) {
      abandoned.release();
      gateway.releaseAdmission();
    }
    ctx.fireChannelInactive();
  }

  /**
   * Ends the authentication in progress, if any: cancels its deadline and returns its request, which
   * the caller must release; {@code null} if the result, the deadline or a disconnect came first.
   */
  private FullHttpRequest takePendingRequest() {
    FullHttpRequest req = pendingRequest;
    if (req == null) {
      return null;
    }
    pendingRequest = null;
    if (authDeadline != null) {
      authDeadline.cancel(false);
      authDeadline = null;
    }
    return req;
  }

  private void cancelTimeout() {
    if (handshakeTimeout != null) {
      handshakeTimeout.cancel(false);
      handshakeTimeout = null;
    }
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (upgrading) {
      // Pipelined behind a handshake (a client must wait for its answer): the connection becomes a
      // WebSocket or closes. Dropped, so one connection cannot hold many admission slots and checks.
      return;
    }
    if (!req.decoderResult().isSuccess()) {
      reject(ctx, req, HttpResponseStatus.BAD_REQUEST, "bad_request", "malformed HTTP request");
      return;
    }
    QueryStringDecoder query = new QueryStringDecoder(req.uri());
    String path;
    try {
      // Both decode lazily and throw on a broken percent-escape: decode here, where it can be answered.
      path = query.path();
      query.parameters();
    } catch (IllegalArgumentException e) {
      reject(ctx, req, HttpResponseStatus.BAD_REQUEST, "bad_request", "malformed request target: " + e.getMessage());
      return;
    }
    if (!admin && path.equals(gateway.options().path())) {
      handshake(ctx, req, query);
    } else if (admin && path.startsWith(ADMIN_PREFIX)) {
      serveAdmin(ctx, req, path);
    } else if (path.equals(HEALTH_PATH)) {
      respond(ctx, req, HttpReply.json(200, "{\"status\":\"up\"}"));
    } else if (path.equals(READY_PATH)) {
      respond(ctx, req, gateway.isAccepting() ? HttpReply.json(200, "{\"status\":\"ready\"}")
          : HttpReply.json(503, "{\"status\":\"not_ready\"}").withHeader("Retry-After", RETRY_AFTER_SECONDS));
    } else {
      HttpRoute route = admin ? null : gateway.route(path);
      if (route == null) {
        reject(ctx, req, HttpResponseStatus.NOT_FOUND, "not_found", "no such path: " + path);
      } else {
        serveRoute(ctx, req, query, route);
      }
    }
  }

  private void serveAdmin(ChannelHandlerContext ctx, FullHttpRequest req, String path) {
    AdminGuard.Rejection refused = adminGuard.check(req.headers(),
        ctx.channel().localAddress() instanceof InetSocketAddress local ? local : null);
    if (refused != null) {
      reject(ctx, HttpResponseStatus.valueOf(refused.status()), refused.code(), refused.message(), refused.headers());
    } else if (path.equals(ADMIN_STATE_PATH)) {
      respond(ctx, req, HttpReply.json(200, stateJson()));
    } else if (path.equals(ADMIN_DRAIN_PATH)) {
      if (!HttpMethod.POST.equals(req.method())) {
        reject(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "method_not_allowed", "use POST to drain");
        return;
      }
      try {
        gateway.drain(io.wsgateway.DrainOptions.defaults());
        respond(ctx, req, HttpReply.json(202, stateJson()));
      } catch (IllegalStateException e) {
        reject(ctx, req, HttpResponseStatus.CONFLICT, "invalid_state", e.getMessage());
      }
    } else {
      reject(ctx, req, HttpResponseStatus.NOT_FOUND, "not_found", "no such path: " + path);
    }
  }

  private String stateJson() {
    StringBuilder b = new StringBuilder(96).append("{\"instance\":");
    Protocol.appendString(b, gateway.instanceId());
    return b.append(",\"state\":\"").append(gateway.state().name().toLowerCase(java.util.Locale.ROOT))
        .append("\",\"connections\":").append(gateway.connectionCount()).append('}').toString();
  }

  private void serveRoute(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder query, HttpRoute route) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    RequestView view = new RequestView(req, query, (InetSocketAddress) ctx.channel().remoteAddress());
    try {
      route.handle(view).whenComplete((reply, error) -> ctx.executor().execute(() -> {
        if (error != null || reply == null) {
          log.warn("route {} failed", view.path(), error);
          write(ctx, keepAlive, HttpReply.json(500, "{\"error\":\"internal\",\"message\":\"route failed\"}"));
        } else {
          write(ctx, keepAlive, reply);
        }
      }));
    } catch (RuntimeException e) {
      log.warn("route {} failed", view.path(), e);
      write(ctx, keepAlive, HttpReply.json(500, "{\"error\":\"internal\",\"message\":\"route failed\"}"));
    }
  }

  private void handshake(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder query) {
    if (!HttpMethod.GET.equals(req.method())) {
      reject(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "method_not_allowed", "WebSocket handshakes use GET");
      return;
    }
    if (!req.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
        || !HttpHeaderValues.WEBSOCKET.contentEqualsIgnoreCase(req.headers().get(HttpHeaderNames.UPGRADE, ""))) {
      reject(ctx, req, HttpResponseStatus.UPGRADE_REQUIRED, "upgrade_required", "expected a WebSocket upgrade");
      return;
    }
    var allowed = gateway.options().allowedOrigins();
    String origin = req.headers().get(HttpHeaderNames.ORIGIN);
    // Only browsers send Origin, and only browsers need the check (cross-site WebSocket hijacking).
    if (!allowed.isEmpty() && origin != null && !allowed.contains(origin)) {
      reject(ctx, req, HttpResponseStatus.FORBIDDEN, "origin_not_allowed", "origin not allowed: " + origin);
      return;
    }
    // Before admission and authentication: what it protects is the cost of those (signature checks,
    // key fetches, slots), so a refused handshake still counts.
    if (handshakeLimiter != null && ctx.channel().remoteAddress() instanceof InetSocketAddress remote
        && remote.getAddress() != null) {
      long waitNanos = handshakeLimiter.tryAcquire(remote.getAddress());
      if (waitNanos > 0) {
        long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(waitNanos + TimeUnit.SECONDS.toNanos(1) - 1));
        GatewayOptions o = gateway.options();
        reject(ctx, HttpResponseStatus.TOO_MANY_REQUESTS, HANDSHAKE_RATE_LIMITED,
            "too many handshakes from this address (limit " + o.handshakeRateLimitPerAddress() + " per "
                + o.handshakeRateLimitPeriod() + ")",
            Map.of("Retry-After", Long.toString(seconds)));
        return;
      }
    }
    if (!gateway.isAccepting()) {
      reject(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "unavailable", "instance is not accepting connections");
      return;
    }
    if (!gateway.tryAdmit()) {
      reject(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "instance_full",
          "instance at its limit of " + gateway.options().maxConnections() + " connections");
      return;
    }
    String resumeSession = query.parameters().containsKey(SESSION_PARAM) ? first(query, SESSION_PARAM) : null;
    long resumeLastSeq = 0;
    if (resumeSession != null) {
      String lastSeq = first(query, LAST_SEQ_PARAM);
      try {
        resumeLastSeq = lastSeq == null ? 0 : Long.parseLong(lastSeq);
      } catch (NumberFormatException e) {
        resumeLastSeq = -1;
      }
      if (!SESSION_ID.matcher(resumeSession).matches() || resumeLastSeq < 0) {
        gateway.releaseAdmission();
        reject(ctx, req, HttpResponseStatus.BAD_REQUEST, "invalid_resume",
            "session must be 1-64 of [A-Za-z0-9_-] and last_seq an integer >= 0");
        return;
      }
    }
    long lastSeqFinal = resumeLastSeq;
    upgrading = true;
    cancelTimeout();
    RequestView view = new RequestView(req, query, (InetSocketAddress) ctx.channel().remoteAddress());
    FullHttpRequest handshakeRequest = req.retainedDuplicate();
    // No reads until authentication decides: nothing may arrive for a connection that does not exist yet.
    ctx.channel().config().setAutoRead(false);
    // The handshake deadline ended above; this one bounds the authenticator, so a hung identity
    // provider costs the client a 503 instead of holding its admission slot for ever.
    pendingRequest = handshakeRequest;
    Duration authTimeout = gateway.options().authenticationTimeout();
    authDeadline = ctx.executor().schedule(() -> authenticationTimedOut(ctx, authTimeout),
        authTimeout.toNanos(), TimeUnit.NANOSECONDS);
    try {
      gateway.authenticator().authenticate(view).whenComplete((result, error) ->
          ctx.executor().execute(() -> afterAuthentication(ctx, handshakeRequest, result, error, resumeSession,
              lastSeqFinal)));
    } catch (RuntimeException e) {
      afterAuthentication(ctx, handshakeRequest, null, e, resumeSession, lastSeqFinal);
    }
  }

  private void authenticationTimedOut(ChannelHandlerContext ctx, Duration timeout) {
    authDeadline = null;
    FullHttpRequest req = takePendingRequest();
    if (req == null) {
      return;
    }
    req.release();
    gateway.releaseAdmission();
    log.debug("authentication of {} did not complete within {}", ctx.channel().remoteAddress(), timeout);
    reject(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, AUTH_TIMEOUT,
        "authentication did not complete within " + timeout, Map.of());
  }

  private void afterAuthentication(ChannelHandlerContext ctx, FullHttpRequest req, AuthResult result, Throwable error,
      String resumeSession, long resumeLastSeq) {
    if (takePendingRequest() != req) {
      // The deadline or a disconnect came first: it answered, and released the request and the slot.
      return;
    }
    boolean admittedSlotUsed = false;
    try {
      ctx.channel().config().setAutoRead(true);
      if (!ctx.channel().isActive()) {
        return;
      }
      if (error != null || result == null) {
        log.warn("authenticator failed", error);
        reject(ctx, req, HttpResponseStatus.INTERNAL_SERVER_ERROR, "auth_failed", "authentication failed");
        return;
      }
      if (!result.isAccepted()) {
        reject(ctx, req, HttpResponseStatus.valueOf(result.status()), result.code(), result.message());
        return;
      }
      String userId = result.principal().userId();
      if (!gateway.tryAdmitUser(userId)) {
        reject(ctx, req, HttpResponseStatus.TOO_MANY_REQUESTS, "too_many_connections",
            "user " + userId + " is at the limit of " + gateway.options().maxConnectionsPerUser() + " connections");
        return;
      }
      WebSocketServerHandshaker handshaker = gateway.handshakerFactory().newHandshaker(req);
      if (handshaker == null) {
        gateway.releaseUser(userId);
        WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
        return;
      }
      ConnectionHandler connection = new ConnectionHandler(gateway, ctx.channel(), result.principal(),
          resumeSession, resumeLastSeq);
      int max = gateway.options().maxMessageSize();
      Channel channel = ctx.channel();
      ChannelPipeline pipeline = ctx.pipeline();
      // This handler is inbound only and done: the WebSocket stage takes its place now (one replace
      // instead of an add and a later remove). Inbound bytes cannot reach the new stage before the
      // handshaker has put the WebSocket decoder in, which it does before writing the 101.
      pipeline.replace(this, "ws-utf8", new Utf8FrameValidator(true));
      pipeline.addAfter("ws-utf8", "ws-aggregator", new WebSocketFrameAggregator(max));
      pipeline.addAfter("ws-aggregator", "ws-connection", connection);
      admittedSlotUsed = true;
      handshaker.handshake(channel, req).addListener(f -> {
        if (f.isSuccess()) {
          connection.onUpgraded();
        } else {
          gateway.releaseAdmission();
          gateway.releaseUser(userId);
          channel.close();
        }
      });
    } finally {
      req.release();
      if (!admittedSlotUsed) {
        gateway.releaseAdmission();
      }
    }
  }

  private static String first(QueryStringDecoder query, String name) {
    java.util.List<String> values = query.parameters().get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  private void reject(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String code,
      String message) {
    reject(ctx, status, code, message, Map.of());
  }

  /** Answers with a JSON error and closes; a 503 also gets {@code Retry-After} unless {@code headers} set it. */
  private void reject(ChannelHandlerContext ctx, HttpResponseStatus status, String code, String message,
      Map<String, String> headers) {
    StringBuilder body = new StringBuilder(64).append("{\"error\":");
    Protocol.appendString(body, code);
    body.append(",\"message\":");
    Protocol.appendString(body, message);
    body.append('}');
    HttpReply reply = HttpReply.json(status.code(), body.toString());
    if (status.code() == 503) {
      reply = reply.withHeader("Retry-After", RETRY_AFTER_SECONDS);
    }
    for (Map.Entry<String, String> h : headers.entrySet()) {
      reply = reply.withHeader(h.getKey(), h.getValue());
    }
    // A refused handshake is never kept alive: the client reconnects with a new request.
    write(ctx, false, reply);
  }

  private void respond(ChannelHandlerContext ctx, FullHttpRequest req, HttpReply reply) {
    write(ctx, HttpUtil.isKeepAlive(req), reply);
  }

  private static void write(ChannelHandlerContext ctx, boolean keepAlive, HttpReply reply) {
    ByteBuf body = Unpooled.wrappedBuffer(reply.body());
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(reply.status()), body);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, reply.contentType());
    response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    for (Map.Entry<String, String> h : reply.headers().entrySet()) {
      response.headers().set(h.getKey(), h.getValue());
    }
    if (keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
      ctx.writeAndFlush(response);
    } else {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("HTTP stage error from {}: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}
