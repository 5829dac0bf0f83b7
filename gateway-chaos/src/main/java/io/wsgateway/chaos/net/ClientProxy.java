package io.wsgateway.chaos.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy in front of one client: it listens on a loopback port of its own, forwards each
 * connection to the load balancer, and lets the harness break that client's network. Frames from
 * the server are forwarded whole (see {@link ServerFrameSplitter}), so that a frame can be injected
 * between two of them, and the instance named in each connection's welcome is remembered.
 *
 * <p>Network faults: {@link #stall()} stops every byte in both directions (a partition: connections
 * stay open, new ones hang) until {@link #heal()}; {@link #reset(boolean)} resets every connection
 * with RST and optionally refuses new ones until {@link #heal()}; {@link #closeAbruptly()} closes
 * every connection with FIN, as a client that vanished; {@link #injectReconnect()} writes the
 * gateway's {@code reconnect} hint, so the client closes cleanly and resumes elsewhere.
 *
 * <p>Thread-safe. I/O runs on the given event loop group, never on the caller's thread; the fault
 * methods return at once. Whoever creates a proxy closes it.
 */
public final class ClientProxy implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** The hint a draining gateway sends, with no delay: the client closes with 1000 and resumes at once. */
  static final String RECONNECT_HINT = "{\"type\":\"reconnect\",\"delay_ms\":0,\"reason\":\"chaos\"}";

  private final String name;
  private final EventLoopGroup group;
  private final Class<? extends SocketChannel> socketType;
  private final InetSocketAddress target;
  private final Channel listener;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicInteger held = new AtomicInteger();
  private volatile boolean stalled;
  private volatile boolean refusing;
  private volatile String lastInstance;
  private volatile String lastSession;

  /**
   * Starts listening on {@code 127.0.0.1} (an ephemeral port) and forwarding to {@code target}.
   *
   * @throws IOException if the port cannot be bound
   */
  public ClientProxy(String name, EventLoopGroup group, Class<? extends ServerChannel> serverType,
      Class<? extends SocketChannel> socketType, InetSocketAddress target) throws IOException {
    this.name = name;
    this.group = group;
    this.socketType = socketType;
    this.target = target;
    ServerBootstrap b = new ServerBootstrap().group(group).channel(serverType)
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new Link(ch).front);
          }
        });
    try {
      this.listener = b.bind("127.0.0.1", 0).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(name + ": interrupted while binding", e);
    } catch (Exception e) {
      throw new IOException(name + ": cannot bind: " + e, e);
    }
  }

  /** The port clients connect to. */
  public int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  /** The instance named in the last welcome that passed through, or {@code null}. */
  public String lastInstance() {
    return lastInstance;
  }

  /** The session named in the last welcome that passed through, or {@code null}. */
  public String lastSession() {
    return lastSession;
  }

  /** Connections accepted so far. */
  public int accepted() {
    return accepted.get();
  }

  /** Pieces read while stalled and not yet forwarded. */
  int held() {
    return held.get();
  }

  /** Open connections. */
  public int open() {
    return links.size();
  }

  /** Stops forwarding in both directions; new connections are accepted but not served. Idempotent. */
  public void stall() {
    stalled = true;
  }

  /**
   * Resets every open connection with RST (both to the client and to the load balancer); with {@code
   * refuse}, new connections are reset as soon as accepted until {@link #heal()}.
   */
  public void reset(boolean refuse) {
    refusing |= refuse;
    for (Link l : links) {
      l.front.channel.eventLoop().execute(l::reset);
    }
  }

  /** Closes every open connection with FIN on both sides, as a client that went away. */
  public void closeAbruptly() {
    for (Link l : links) {
      l.front.channel.eventLoop().execute(l::close);
    }
  }

  /**
   * Writes the gateway's {@code reconnect} hint (no delay) to every open, upgraded, flowing connection,
   * between two frames. Returns how many connections got it.
   */
  public int injectReconnect() {
    int n = 0;
    for (Link l : links) {
      if (!stalled && l.splitter.inFrames()) {
        l.front.channel.eventLoop().execute(l::inject);
        n++;
      }
    }
    return n;
  }

  /** Ends every fault: forwards again (what was held back first) and accepts new connections. */
  public void heal() {
    refusing = false;
    if (stalled) {
      stalled = false;
      for (Link l : links) {
        l.front.channel.eventLoop().execute(l::resume);
      }
    }
  }

  /** Whether a fault is in effect. */
  public boolean faulty() {
    return stalled || refusing;
  }

  @Override
  public void close() {
    listener.close().syncUninterruptibly();
    for (Link l : links) {
      l.front.channel.eventLoop().execute(l::close);
    }
  }

  @Override
  public String toString() {
    return "ClientProxy{" + name + " :" + port() + " -> " + target + ", open=" + links.size() + ", stalled=" + stalled
        + ", refusing=" + refusing + "}";
  }

  private void welcome(String text) {
    try {
      JsonNode n = JSON.readTree(text);
      if ("welcome".equals(n.path("type").asText())) {
        lastInstance = n.path("instance").asText(null);
        lastSession = n.path("session").asText(null);
      }
    } catch (IOException notJson) {
      // Not a welcome; nothing to remember.
    }
  }

  /**
   * One proxied connection: the client side ({@code front}) and the load balancer side ({@code back}),
   * both on the front channel's event loop, so every method runs there without locks.
   */
  private final class Link {
    final Side front;
    Side back;
    final ServerFrameSplitter splitter = new ServerFrameSplitter(ClientProxy.this::welcome);
    /** Set when a side closed while stalled: the close is passed on when the stall ends. */
    boolean closePending;

    Link(Channel frontChannel) {
      this.front = new Side(frontChannel, true);
    }

    void open() {
      if (refusing) {
        rst(front.channel);
        return;
      }
      accepted.incrementAndGet();
      links.add(this);
      if (!stalled) {
        connectBack();
      } // else: as in a partition, the connection gets nowhere until the stall ends
    }

    void connectBack() {
      if (back != null || !front.channel.isActive()) {
        return;
      }
      Bootstrap b = new Bootstrap().group(front.channel.eventLoop()).channel(socketType)
          .option(ChannelOption.AUTO_READ, false)
          .option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              back = new Side(ch, false);
              ch.pipeline().addLast(splitter, back);
            }
          });
      b.connect(target).addListener((ChannelFutureListener) f -> {
        if (!f.isSuccess()) {
          close();
          return;
        }
        if (!stalled) {
          front.channel.read();
          back.channel.read();
        }
      });
    }

    void forward(Side from, Object msg) {
      Side to = from == front ? back : front;
      if (stalled || to == null) {
        from.held.add(msg);
        held.incrementAndGet();
        return;
      }
      to.channel.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
        if (!f.isSuccess()) {
          close();
        } else if (!stalled) {
          from.channel.read();
        }
      });
    }

    void resume() {
      for (Side s : new Side[] {front, back}) {
        if (s == null) {
          continue;
        }
        Side to = s == front ? back : front;
        Object msg;
        while ((msg = s.held.poll()) != null) {
          held.decrementAndGet();
          if (to != null && to.channel.isActive()) {
            to.channel.write(msg);
          } else {
            ReferenceCountUtil.release(msg);
          }
        }
        if (to != null) {
          to.channel.flush();
        }
      }
      if (closePending) {
        close();
        return;
      }
      if (back == null) {
        connectBack();
        return;
      }
      front.channel.read();
      back.channel.read();
    }

    void inactive() {
      if (stalled) {
        closePending = true;
        return;
      }
      close();
    }

    void inject() {
      if (stalled || !front.channel.isActive()) {
        return;
      }
      byte[] payload = RECONNECT_HINT.getBytes(StandardCharsets.UTF_8);
      ByteBuf frame = Unpooled.buffer(2 + payload.length);
      frame.writeByte(0x81).writeByte(payload.length).writeBytes(payload); // FIN + text, unmasked, < 126 bytes
      front.channel.writeAndFlush(frame);
    }

    void reset() {
      rst(front.channel);
      if (back != null) {
        rst(back.channel);
      }
      release();
    }

    void close() {
      // Flush what was already written, then FIN.
      front.channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      if (back != null) {
        back.channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      }
      release();
    }

    private void release() {
      links.remove(this);
      for (Side s : new Side[] {front, back}) {
        if (s != null) {
          Object msg;
          while ((msg = s.held.poll()) != null) {
            held.decrementAndGet();
            ReferenceCountUtil.release(msg);
          }
        }
      }
    }

    /** One side's handler: what it reads goes to the other side. */
    final class Side extends ChannelInboundHandlerAdapter {
      final Channel channel;
      final boolean isFront;
      /** What was read while stalled, to forward when the stall ends. */
      final ArrayDeque<Object> held = new ArrayDeque<>();

      Side(Channel channel, boolean isFront) {
        this.channel = channel;
        this.isFront = isFront;
      }

      @Override
      public void channelActive(ChannelHandlerContext ctx) {
        if (isFront) {
          open();
        }
        ctx.fireChannelActive();
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        forward(this, msg);
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        inactive();
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Resets and refused connections end here; the connection's end is all that matters.
        inactive();
      }
    }
  }

  private static void rst(Channel ch) {
    if (ch.isOpen()) {
      ch.config().setOption(ChannelOption.SO_LINGER, 0);
      ch.close();
    }
  }
}
