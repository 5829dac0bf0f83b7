package io.wsgateway.benchmarks.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A small Netty WebSocket client for benchmarks and the load tool: epoll when available, pooled
 * buffers, no per-frame allocation beyond the frame itself, and flushes left to the caller so a burst
 * leaves in one syscall. Thread-safe; close it to stop its event loops.
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
  private static final long HANDSHAKE_TIMEOUT_MS = 30_000;

  private final EventLoopGroup group;
  private final Bootstrap bootstrap;

  /** A client with {@code threads} event loops (0: Netty's default of twice the cores). */
  public BenchClient(int threads) {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    group = new MultiThreadIoEventLoopGroup(threads, io);
    bootstrap = new Bootstrap()
        .group(group)
        .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000);
  }

  /**
   * Opens a connection; completes once the 101 response arrived (the gateway's welcome frame, which
   * marks registration, comes later through {@code listener}).
   *
   * @param localAddress the source address to bind, or {@code null} for the kernel's choice
   */
  public CompletableFuture<WsConnection> connect(URI uri, InetSocketAddress localAddress, Listener listener) {
    CompletableFuture<WsConnection> opened = new CompletableFuture<>();
    WebSocketClientHandshaker handshaker = WebSocketClientHandshakerFactory.newHandshaker(
        uri, WebSocketVersion.V13, null, false, new DefaultHttpHeaders(), MAX_FRAME);
    WsConnection connection = new WsConnection(listener);
    Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(
            new HttpClientCodec(),
            new HttpObjectAggregator(8192),
            new WebSocketClientProtocolHandler(handshaker, true, true, HANDSHAKE_TIMEOUT_MS),
            new FrameHandler(connection, opened));
      }
    });
    InetSocketAddress remote = new InetSocketAddress(uri.getHost(), uri.getPort());
    ChannelFuture f = localAddress == null ? b.connect(remote) : b.connect(remote, localAddress);
    f.addListener(done -> {
      if (!done.isSuccess()) {
        opened.completeExceptionally(done.cause());
      }
    });
    return opened;
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
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

  private static final class FrameHandler extends ChannelInboundHandlerAdapter {
    private final WsConnection connection;
    private final CompletableFuture<WsConnection> opened;

    FrameHandler(WsConnection connection, CompletableFuture<WsConnection> opened) {
      this.connection = connection;
      this.opened = opened;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      connection.channel = ctx.channel();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
        opened.complete(connection);
      } else if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
        opened.completeExceptionally(new IllegalStateException("handshake timed out"));
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof TextWebSocketFrame text) {
          connection.listener.onText(connection, text.content());
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
      opened.completeExceptionally(new IllegalStateException("closed before the handshake completed"));
      connection.listener.onClose(connection);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      opened.completeExceptionally(cause);
      ctx.close();
    }
  }
}
