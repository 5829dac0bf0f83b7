package io.wsgateway.benchmarks.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A small Netty WebSocket client for benchmarks and the load tool: epoll when available, pooled
 * buffers, no per-frame allocation beyond the frame itself, and flushes left to the caller so a burst
 * leaves in one syscall. Thread-safe; close it to stop its event loops.
 *
 * <p>Connection setup is kept cheap because the tool's CPU is part of every connect-rate measurement:
 * the upgrade request is built once per {@link Target} (before any clock starts), with a fixed
 * {@code Sec-WebSocket-Key}; a connection is a channel made directly (no {@code Bootstrap} clone),
 * one small handshake handler that writes those bytes, waits for the end of the response headers and
 * checks for {@code 101}, then replaces itself with Netty's frame decoder in one pipeline edit. There
 * is no HTTP codec, no {@code Sec-WebSocket-Accept} check (the gateway is trusted: this is a load
 * generator, not a conformant client) and no per-connection timer; callers enforce a deadline for a
 * whole batch ({@link Opening#timeOut()}).
 */
public final class BenchClient implements AutoCloseable {

  /** Callbacks on the connection's event loop; {@code onText} must not keep {@code content}. */
  public interface Listener {
    void onText(WsConnection c, ByteBuf content);

    /** After a batch of reads; the place to refill a window and flush once. */
    default void onReadComplete(WsConnection c) {}

    default void onClose(WsConnection c) {}
  }

  private static final int MAX_FRAME = 1 << 20;
  /** Response headers longer than this fail the handshake. */
  private static final int MAX_RESPONSE_HEADERS = 8192;
  /** Any valid key works: the tool does not check the accept header it implies. */
  private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";
  private static final byte[] STATUS_101 = "HTTP/1.1 101".getBytes(StandardCharsets.US_ASCII);

  private final EventLoopGroup group;
  private final boolean epoll;

  /** A client with {@code threads} event loops (0: Netty's default of twice the cores). */
  public BenchClient(int threads) {
    epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    group = new MultiThreadIoEventLoopGroup(threads, io);
  }

  /**
   * Where to connect and the complete upgrade request for it. Build targets before a measurement: the
   * address is resolved and the request encoded here, once.
   */
  public static final class Target {
    final InetSocketAddress remote;
    final byte[] request;
    final String host;

    private Target(InetSocketAddress remote, byte[] request, String host) {
      this.remote = remote;
      this.request = request;
      this.host = host;
    }

    /** A target for {@code uri} (ws://host:port/path?query); resolves its host. */
    public static Target of(URI uri) {
      return of(uri, new InetSocketAddress(uri.getHost(), port(uri)));
    }

    /** A target for {@code uri} that connects to {@code remote}, already resolved (shared by many targets). */
    public static Target of(URI uri, InetSocketAddress remote) {
      String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
      String query = uri.getRawQuery();
      String request = "GET " + path + (query == null ? "" : "?" + query) + " HTTP/1.1\r\n"
          + "Host: " + uri.getHost() + ":" + port(uri) + "\r\n"
          + "Upgrade: websocket\r\n"
          + "Connection: Upgrade\r\n"
          + "Sec-WebSocket-Key: " + KEY + "\r\n"
          + "Sec-WebSocket-Version: 13\r\n"
          + "\r\n";
      return new Target(remote, request.getBytes(StandardCharsets.UTF_8), uri.getHost());
    }

    public InetSocketAddress remote() {
      return remote;
    }

    /** The host as written in the URI. */
    public String host() {
      return host;
    }

    private static int port(URI uri) {
      return uri.getPort() > 0 ? uri.getPort() : "wss".equals(uri.getScheme()) ? 443 : 80;
    }
  }

  /** Opens a connection to {@code uri}; see {@link #connect(Target, InetSocketAddress, Listener)}. */
  public Opening connect(URI uri, InetSocketAddress localAddress, Listener listener) {
    return connect(Target.of(uri), localAddress, listener);
  }

  /**
   * Opens a connection; completes once the 101 response arrived (the gateway's welcome frame, which
   * marks registration, comes later through {@code listener}, possibly in the same read). Fails when
   * the connect fails, the response is not 101 (the status line is in the exception), or the
   * connection closes first. There is no timeout here: see {@link Opening#timeOut()}.
   *
   * @param localAddress the source address to bind, or {@code null} for the kernel's choice
   */
  public Opening connect(Target target, InetSocketAddress localAddress, Listener listener) {
    SocketChannel ch = epoll ? new EpollSocketChannel() : new NioSocketChannel();
    // No CONNECT_TIMEOUT_MILLIS: it would schedule a timer per connection; the caller's deadline covers it.
    ch.config().setTcpNoDelay(true);
    if (localAddress != null && ch instanceof EpollSocketChannel e) {
      // bind(addr, 0) searches the port range for a port no socket on addr holds (slow once thousands
      // are open or in TIME_WAIT); with this the kernel picks the port at connect, by 4-tuple.
      e.config().setIpBindAddressNoPort(true);
    }
    WsConnection connection = new WsConnection(listener);
    connection.channel = ch;
    Opening opened = new Opening(ch);
    // Handshake first, then the encoder (it lets the raw request through: not a WebSocketFrame), then
    // the frames; the handshake handler is later replaced by the decoder, so no other edit happens.
    ch.pipeline().addLast(
        new Handshake(target, localAddress, connection, opened),
        new WebSocket13FrameEncoder(true),
        new FrameHandler(connection, opened));
    // The handshake handler connects from channelRegistered, on the event loop: no second task.
    group.next().register(ch).addListener(REGISTER_FAILED);
    return opened;
  }

  private static final ChannelFutureListener REGISTER_FAILED = f -> {
    if (!f.isSuccess()) {
      Handshake h = f.channel().pipeline().get(Handshake.class);
      if (h != null) {
        h.opened.completeExceptionally(f.cause());
      }
      f.channel().unsafe().closeForcibly();
    }
  };

  @Override
  public void close() {
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** A connection being opened: completes with it once the handshake succeeded. */
  public static final class Opening extends CompletableFuture<WsConnection> {
    private final Channel channel;

    Opening(Channel channel) {
      this.channel = channel;
    }

    /**
     * Fails this opening (if not yet complete) with a timeout and closes its channel: for a caller
     * whose deadline for a batch of connections passed.
     */
    public void timeOut() {
      if (completeExceptionally(new TimeoutException("handshake timed out"))) {
        channel.close();
      }
    }
  }

  /** One open connection; write and flush from any thread (Netty hands the write to the event loop). */
  public static final class WsConnection {
    private final Listener listener;
    private volatile Channel channel;
    /** Free for the caller: per-connection state of a scenario. */
    public Object attachment;

    WsConnection(Listener listener) {
      this.listener = listener;
    }

    public Channel channel() {
      return channel;
    }

    /** Queues one text frame; it leaves at the next {@link #flush()}. */
    public void write(ByteBuf utf8) {
      channel.write(new TextWebSocketFrame(utf8), channel.voidPromise());
    }

    public void flush() {
      channel.flush();
    }

    public void writeAndFlush(ByteBuf utf8) {
      channel.writeAndFlush(new TextWebSocketFrame(utf8), channel.voidPromise());
    }

    public boolean isActive() {
      Channel ch = channel;
      return ch != null && ch.isActive();
    }

    public void close() {
      Channel ch = channel;
      if (ch != null) {
        ch.close();
      }
    }
  }

  /**
   * Connects, writes the pre-built upgrade request, reads up to the end of the response headers, checks
   * the status, and replaces itself with the frame decoder, handing it whatever followed the headers.
   */
  private static final class Handshake extends ChannelInboundHandlerAdapter {
    private final Target target;
    private final InetSocketAddress local;
    private final WsConnection connection;
    final Opening opened;
    /** Only when the response headers arrive split over reads (rare). */
    private ByteBuf partial;

    Handshake(Target target, InetSocketAddress local, WsConnection connection, Opening opened) {
      this.target = target;
      this.local = local;
      this.connection = connection;
      this.opened = opened;
    }

    @Override
    public void channelRegistered(ChannelHandlerContext ctx) {
      ctx.fireChannelRegistered();
      ChannelFuture f = local == null ? ctx.connect(target.remote) : ctx.connect(target.remote, local);
      f.addListener(this::connected);
    }

    private void connected(io.netty.util.concurrent.Future<? super Void> f) {
      if (!f.isSuccess()) {
        opened.completeExceptionally(f.cause());
        connection.channel.close();
      }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      byte[] request = target.request;
      ctx.writeAndFlush(ctx.alloc().directBuffer(request.length).writeBytes(request), ctx.voidPromise());
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf in)) {
        ctx.fireChannelRead(msg);
        return;
      }
      ByteBuf buf = in;
      if (partial != null) {
        partial.writeBytes(in);
        in.release();
        buf = partial;
      }
      int end = headersEnd(buf);
      if (end < 0) {
        if (buf.readableBytes() > MAX_RESPONSE_HEADERS) {
          fail(ctx, buf, "response headers longer than " + MAX_RESPONSE_HEADERS + " bytes");
        } else if (partial == null) {
          partial = ctx.alloc().heapBuffer(Math.max(256, buf.readableBytes() * 2));
          partial.writeBytes(buf);
          buf.release();
        }
        return;
      }
      partial = null;
      if (!startsWith(buf, STATUS_101)) {
        fail(ctx, buf, "handshake failed: " + statusLine(buf));
        return;
      }
      buf.readerIndex(end);
      // One edit; afterwards ctx's next is the decoder, so the rest of this read goes to it.
      ctx.pipeline().replace(this, "ws-decoder", new WebSocket13FrameDecoder(false, false, MAX_FRAME, false));
      opened.complete(connection);
      if (buf.isReadable()) {
        ctx.fireChannelRead(buf);
      } else {
        buf.release();
      }
    }

    private void fail(ChannelHandlerContext ctx, ByteBuf buf, String why) {
      buf.release();
      partial = null;
      opened.completeExceptionally(new IllegalStateException(why));
      ctx.close();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      if (partial != null) {
        partial.release();
        partial = null;
      }
    }

    /** Index just past the first CRLFCRLF, or -1. */
    private static int headersEnd(ByteBuf b) {
      for (int i = b.readerIndex() + 3, end = b.writerIndex(); i < end; i++) {
        if (b.getByte(i) == '\n' && b.getByte(i - 1) == '\r' && b.getByte(i - 2) == '\n' && b.getByte(i - 3) == '\r') {
          return i + 1;
        }
      }
      return -1;
    }

    private static boolean startsWith(ByteBuf b, byte[] prefix) {
      if (b.readableBytes() < prefix.length + 1) {
        return false;
      }
      int base = b.readerIndex();
      for (int i = 0; i < prefix.length; i++) {
        if (b.getByte(base + i) != prefix[i]) {
          return false;
        }
      }
      return b.getByte(base + prefix.length) == ' ' || b.getByte(base + prefix.length) == '\r';
    }

    private static String statusLine(ByteBuf b) {
      int eol = b.indexOf(b.readerIndex(), b.writerIndex(), (byte) '\r');
      int len = (eol < 0 ? b.writerIndex() : eol) - b.readerIndex();
      return b.toString(b.readerIndex(), Math.min(len, 200), StandardCharsets.ISO_8859_1);
    }
  }

  private static final class FrameHandler extends ChannelInboundHandlerAdapter {
    private final WsConnection connection;
    private final CompletableFuture<WsConnection> opened;

    FrameHandler(WsConnection connection, CompletableFuture<WsConnection> opened) {
      this.connection = connection;
      this.opened = opened;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof TextWebSocketFrame text) {
          connection.listener.onText(connection, text.content());
        } else if (msg instanceof PingWebSocketFrame ping) {
          ctx.writeAndFlush(new PongWebSocketFrame(ping.content().retain()), ctx.voidPromise());
        } else if (msg instanceof CloseWebSocketFrame) {
          ctx.close();
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      connection.listener.onReadComplete(connection);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (!opened.isDone()) {  // not an exception (and its stack trace) for every ordinary close
        opened.completeExceptionally(new IllegalStateException("closed before the handshake completed"));
      }
      connection.listener.onClose(connection);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      opened.completeExceptionally(cause);
      ctx.close();
    }
  }
}
