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
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
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
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The baseline the gateway's local routing is measured against: the least a Netty WebSocket server
 * must do to route {@code {"type":"send","to":"u","data":...}} between users. The user comes from
 * the {@code ?user=} query parameter or, for the load tool, from the {@code sub} of the
 * {@code ?access_token=} JWT's payload, decoded <em>without</em> verifying the signature (no JWT
 * check, no registry, no broker, no rate limit, no futures). Each connection first gets a
 * {@code {"type":"welcome","user":...}} frame; the recipient gets the same {@code message} frame
 * bytes the gateway writes, with a per-connection seq; a {@code send} with an {@code "id"} is answered
 * {@code {"type":"ack","id":...}} (a string id, as the load tool sends); flushes are coalesced per
 * read batch as the gateway coalesces them per event-loop pass.
 *
 * <p>Topics, for the fan-out baseline: {@code {"type":"subscribe","topic":T,"id":I}} adds the
 * connection to T and is acked; {@code {"type":"publish","topic":T,"data":D}} builds one
 * {@code {"type":"message","topic":T,"data":D,"seq":N}} WebSocket frame (N counts publishes) and
 * writes a retained duplicate of it to every subscriber, flushing each, as the gateway does. The
 * writes run on the publisher's event loop (the load tool's fan-out runs with one I/O thread).
 *
 * <p>{@code GET /health} answers 200, so
 * {@code benchmarks/run.sh} can wait for it as for a gateway.
 *
 * <p>Not a product: no limits, no error frames (an unknown recipient drops the message, unacked), no
 * close handling beyond Netty's. Thread-safe to start and close. {@link #main} runs it as a server
 * process for the load tool ({@code BASELINE=1 benchmarks/run.sh route ...}).
 */
public final class BareRouter implements AutoCloseable {

  private static final AttributeKey<String> USER = AttributeKey.valueOf("bare.user");
  private static final AttributeKey<long[]> SEQ = AttributeKey.valueOf("bare.seq");
  private static final byte[] TO = Frames.ascii("\"to\":\"");
  private static final byte[] DATA = Frames.ascii("\"data\":");
  private static final byte[] SEQ_KEY = Frames.ascii(",\"seq\":");
  private static final byte[] ID = Frames.ascii("\"id\":\"");
  private static final byte[] ACK_HEAD = Frames.ascii("{\"type\":\"ack\",\"id\":\"");
  private static final byte[] ACK_TAIL = Frames.ascii("\"}");
  private static final byte[] SUBSCRIBE = Frames.ascii("{\"type\":\"subscribe\"");
  private static final byte[] PUBLISH = Frames.ascii("{\"type\":\"publish\"");
  private static final byte[] TOPIC = Frames.ascii("\"topic\":\"");
  private static final byte[] TOPIC_MESSAGE_HEAD = Frames.ascii("{\"type\":\"message\",\"topic\":\"");
  private static final byte[] TOPIC_MESSAGE_DATA = Frames.ascii("\",\"data\":");

  private final Map<String, Channel> users = new ConcurrentHashMap<>();
  private final Map<String, Set<Channel>> topics = new ConcurrentHashMap<>();
  private final AtomicLong topicSeq = new AtomicLong();
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

  /**
   * Runs a bare router until killed: {@code --port P} (default 8080, or {@code GATEWAY_PORT}),
   * {@code --threads T} (I/O threads, default 1), {@code --host H} (default 0.0.0.0).
   */
  public static void main(String[] args) throws Exception {
    // Netty's object recycler costs more than it saves under load (docs/configuration.md, "JVM settings").
    if (System.getProperty("io.netty.recycler.maxCapacityPerThread") == null) {
      System.setProperty("io.netty.recycler.maxCapacityPerThread", "0");
    }
    String env = System.getenv("GATEWAY_PORT");
    int port = env == null || env.isEmpty() ? 8080 : Integer.parseInt(env);
    int threads = 1;
    String host = "0.0.0.0";
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        case "--host" -> host = args[++i];
        default -> {
          System.err.println("usage: BareRouter [--port P] [--threads T] [--host H]; unknown: " + args[i]);
          System.exit(2);
        }
      }
    }
    BareRouter router = new BareRouter(host, port, threads);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      router.close();
      stopped.countDown();
    }, "bare-router-shutdown"));
    System.out.println("BareRouter on port " + router.port() + " io_threads=" + threads + " pid "
        + ProcessHandle.current().pid());
    stopped.await();
  }

  /** The {@code sub} claim of a JWT's payload, unverified; null if there is none. */
  static String unverifiedSubject(String jwt) {
    int a = jwt.indexOf('.');
    int b = a < 0 ? -1 : jwt.indexOf('.', a + 1);
    if (b < 0) {
      return null;
    }
    String json;
    try {
      json = new String(Base64.getUrlDecoder().decode(jwt.substring(a + 1, b)), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return null;
    }
    int k = json.indexOf("\"sub\"");
    if (k < 0) {
      return null;
    }
    int start = json.indexOf('"', json.indexOf(':', k + 5) + 1);
    int end = start < 0 ? -1 : json.indexOf('"', start + 1);
    return end < 0 ? null : json.substring(start + 1, end);
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
        Map<String, List<String>> q = new QueryStringDecoder(hc.requestUri()).parameters();
        List<String> u = q.get("user");
        List<String> token = q.get("access_token");
        String user = u != null && !u.isEmpty() ? u.get(0)
            : token != null && !token.isEmpty() ? unverifiedSubject(token.get(0)) : null;
        if (user == null) {
          ctx.close();
          return;
        }
        ctx.channel().attr(USER).set(user);
        ctx.channel().attr(SEQ).set(new long[1]);
        // The welcome first, then routable (the write is queued before any message to this user).
        ByteBuf w = ctx.alloc().buffer(40 + user.length());
        w.writeCharSequence("{\"type\":\"welcome\",\"user\":\"", StandardCharsets.US_ASCII);
        w.writeCharSequence(user, StandardCharsets.UTF_8);
        w.writeCharSequence("\"}", StandardCharsets.US_ASCII);
        ctx.writeAndFlush(new TextWebSocketFrame(w), ctx.voidPromise());
        users.put(user, ctx.channel());
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof FullHttpRequest req) {
        // Not the WebSocket path: GET /health for run.sh, 404 otherwise.
        boolean health = req.uri().startsWith("/health");
        req.release();
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
            health ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND,
            Unpooled.copiedBuffer(health ? "ok" : "", StandardCharsets.US_ASCII));
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      if (!(msg instanceof TextWebSocketFrame frame)) {
        ctx.fireChannelRead(msg);
        return;
      }
      try {
        ByteBuf in = frame.content();
        if (Frames.startsWith(in, SUBSCRIBE)) {
          subscribe(ctx, in);
          return;
        }
        if (Frames.startsWith(in, PUBLISH)) {
          publish(ctx, in);
          return;
        }
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
        List<Channel> d = dirty.get();
        markDirty(d, target);
        // The ack, if the send asked for one (the id is a string, as the load tool sends it).
        int id = Frames.indexOf(in, ID);
        if (id >= 0 && id < to) {
          ack(ctx, in, id, to, d);
        }
      } finally {
        ReferenceCountUtil.release(frame);
      }
    }

    private void subscribe(ChannelHandlerContext ctx, ByteBuf in) {
      String topic = topicOf(in);
      if (topic == null) {
        return;
      }
      topics.computeIfAbsent(topic, t -> ConcurrentHashMap.newKeySet()).add(ctx.channel());
      int id = Frames.indexOf(in, ID);
      if (id >= 0) {
        ack(ctx, in, id, in.writerIndex(), dirty.get());
      }
    }

    /** Acks the frame whose string {@code "id":"} key is at {@code id}; the value ends before {@code limit}. */
    private void ack(ChannelHandlerContext ctx, ByteBuf in, int id, int limit, List<Channel> d) {
      int idStart = id + ID.length;
      int idEnd = in.indexOf(idStart, limit, (byte) '"');
      ByteBuf ack = ctx.alloc().buffer(ACK_HEAD.length + ACK_TAIL.length + idEnd - idStart);
      ack.writeBytes(ACK_HEAD).writeBytes(in, idStart, idEnd - idStart).writeBytes(ACK_TAIL);
      ctx.write(new TextWebSocketFrame(ack), ctx.voidPromise());
      markDirty(d, ctx.channel());
    }

    /** One frame for all subscribers: encoded once, a retained duplicate written and flushed to each. */
    private void publish(ChannelHandlerContext ctx, ByteBuf in) {
      String topic = topicOf(in);
      int data = Frames.indexOf(in, DATA);
      Set<Channel> subscribers = topic == null ? null : topics.get(topic);
      if (data < 0 || subscribers == null) {
        return;
      }
      int dataStart = data + DATA.length;
      int dataEnd = in.writerIndex() - 1;
      ByteBuf payload = ctx.alloc().buffer(64 + topic.length() + dataEnd - dataStart);
      payload.writeBytes(TOPIC_MESSAGE_HEAD);
      payload.writeCharSequence(topic, StandardCharsets.UTF_8);
      payload.writeBytes(TOPIC_MESSAGE_DATA);
      payload.writeBytes(in, dataStart, dataEnd - dataStart);
      payload.writeBytes(SEQ_KEY);
      Frames.writeLong(payload, topicSeq.incrementAndGet());
      payload.writeByte('}');
      // The WebSocket header by hand (server frames are unmasked), so the bytes pass the frame encoder.
      int length = payload.readableBytes();
      ByteBuf wire = ctx.alloc().buffer(10 + length);
      wire.writeByte(0x81);
      if (length <= 125) {
        wire.writeByte(length);
      } else if (length <= 0xFFFF) {
        wire.writeByte(126).writeShort(length);
      } else {
        wire.writeByte(127).writeLong(length);
      }
      wire.writeBytes(payload);
      payload.release();
      try {
        for (Channel subscriber : subscribers) {
          subscriber.writeAndFlush(wire.retainedDuplicate(), subscriber.voidPromise());
        }
      } finally {
        wire.release();
      }
    }

    private String topicOf(ByteBuf in) {
      int topic = Frames.indexOf(in, TOPIC);
      if (topic < 0) {
        return null;
      }
      int start = topic + TOPIC.length;
      int end = in.indexOf(start, in.writerIndex(), (byte) '"');
      return end < 0 ? null : in.toString(start, end - start, StandardCharsets.UTF_8);
    }

    /** Remembers {@code ch} for the flush at the end of the read batch (skipping an immediate repeat). */
    private void markDirty(List<Channel> d, Channel ch) {
      int n = d.size();
      if (n == 0 || d.get(n - 1) != ch) {
        d.add(ch);
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
      for (Set<Channel> subscribers : topics.values()) {
        subscribers.remove(ctx.channel());
      }
      ctx.fireChannelInactive();
    }
  }
}
