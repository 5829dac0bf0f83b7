package io.wsgateway.benchmarks.baseline;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.wsgateway.benchmarks.client.Frames;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The baseline the gateway's local routing is measured against: the least a Netty WebSocket server
 * must do to route {@code {"type":"send","to":"u","data":...}} between users. The user comes from
 * the {@code ?user=} query parameter (no JWT, no registry, no broker, no rate limit, no futures); the
 * recipient gets the same {@code message} frame bytes the gateway writes, with a per-connection seq,
 * and flushes are coalesced per read batch as the gateway coalesces them per event-loop pass.
 *
 * <p>Not a product: no limits, no close handling beyond Netty's. Thread-safe to start and close.
 */
public final class BareRouter implements AutoCloseable {

  private static final AttributeKey<String> USER = AttributeKey.valueOf("bare.user");
  private static final AttributeKey<long[]> SEQ = AttributeKey.valueOf("bare.seq");
  private static final byte[] TO = Frames.ascii("\"to\":\"");
  private static final byte[] DATA = Frames.ascii("\"data\":");
  private static final byte[] SEQ_KEY = Frames.ascii(",\"seq\":");

  private final Map<String, Channel> users = new ConcurrentHashMap<>();
  private final EventLoopGroup group;
  private final Channel server;
  private final ChannelHandler router = new Router();

  /** Starts on {@code host:port} (0: any free port) with {@code ioThreads} event loops. */
  public BareRouter(String host, int port, int ioThreads) throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    group = new MultiThreadIoEventLoopGroup(ioThreads, io);
    WebSocketServerProtocolConfig ws = WebSocketServerProtocolConfig.newBuilder()
        .websocketPath("/ws").checkStartsWith(true).maxFramePayloadLength(64 * 1024).build();
    server = new ServerBootstrap()
        .group(group)
        .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 4096)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(8192),
                new WebSocketServerProtocolHandler(ws), router);
          }
        })
        .bind(host, port).sync().channel();
  }

  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  public int userCount() {
    return users.size();
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @ChannelHandler.Sharable
  private final class Router extends ChannelInboundHandlerAdapter {
    /** Recipients written to in the current read batch of each event loop; flushed once at its end. */
    private final ThreadLocal<List<Channel>> dirty = ThreadLocal.withInitial(ArrayList::new);

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete hc) {
        List<String> u = new QueryStringDecoder(hc.requestUri()).parameters().get("user");
        if (u == null || u.isEmpty()) {
          ctx.close();
          return;
        }
        ctx.channel().attr(USER).set(u.get(0));
        ctx.channel().attr(SEQ).set(new long[1]);
        users.put(u.get(0), ctx.channel());
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof TextWebSocketFrame frame)) {
        ctx.fireChannelRead(msg);
        return;
      }
      try {
        ByteBuf in = frame.content();
        int to = Frames.indexOf(in, TO);
        int data = Frames.indexOf(in, DATA);
        if (to < 0 || data < 0) {
          return;
        }
        int nameStart = to + TO.length;
        int nameEnd = in.indexOf(nameStart, in.writerIndex(), (byte) '"');
        Channel target = users.get(in.toString(nameStart, nameEnd - nameStart, StandardCharsets.UTF_8));
        if (target == null) {
          return;
        }
        // data runs to the frame's closing brace (the benchmark frames end with it).
        int dataStart = data + DATA.length;
        int dataEnd = in.writerIndex() - 1;
        String from = ctx.channel().attr(USER).get();
        long seq = ++target.attr(SEQ).get()[0];
        ByteBuf out = ctx.alloc().buffer(64 + dataEnd - dataStart);
        out.writeCharSequence("{\"type\":\"message\",\"from\":\"", StandardCharsets.US_ASCII);
        out.writeCharSequence(from, StandardCharsets.UTF_8);
        out.writeCharSequence("\",\"data\":", StandardCharsets.US_ASCII);
        out.writeBytes(in, dataStart, dataEnd - dataStart);
        out.writeBytes(SEQ_KEY);
        Frames.writeLong(out, seq);
        out.writeByte('}');
        target.write(new TextWebSocketFrame(out), target.voidPromise());
        dirty.get().add(target);
      } finally {
        ReferenceCountUtil.release(frame);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      List<Channel> d = dirty.get();
      for (int i = 0; i < d.size(); i++) {
        d.get(i).flush();
      }
      d.clear();
      ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      String u = ctx.channel().attr(USER).get();
      if (u != null) {
        users.remove(u, ctx.channel());
      }
      ctx.fireChannelInactive();
    }
  }
}
