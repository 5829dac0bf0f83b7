package io.wsgateway.chaos.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.wsgateway.chaos.env.Poll;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The proxy over real loopback sockets, in front of a fake gateway that upgrades and sends a welcome. */
@DisplayName("A client proxy")
class ClientProxyTest {

  static final String REQUEST = "GET /ws HTTP/1.1\r\nhost: x\r\n\r\n";
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  EventLoopGroup group;
  ServerSocket server;
  Thread acceptor;
  final BlockingQueue<Socket> accepted = new LinkedBlockingQueue<>();
  ClientProxy proxy;
  final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();

  @BeforeEach
  void start() throws IOException {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    server = new ServerSocket();
    server.bind(new InetSocketAddress("127.0.0.1", 0));
    acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          int n = connections.incrementAndGet();
          readHead(s.getInputStream());
          s.getOutputStream().write(ServerFrameSplitterTest.concat(
              ServerFrameSplitterTest.HEAD.getBytes(StandardCharsets.US_ASCII),
              welcome("g" + n)));
          accepted.add(s);
        } catch (IOException closed) {
          return;
        }
      }
    }, "fake-gateway");
    acceptor.start();
    proxy = new ClientProxy("u00", group, NioServerSocketChannel.class, NioSocketChannel.class,
        new InetSocketAddress("127.0.0.1", server.getLocalPort()));
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
    server.close();
    acceptor.join(10_000);
    for (Socket s : accepted) {
      s.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  static byte[] welcome(String instance) {
    return ServerFrameSplitterTest.textFrame("{\"type\":\"welcome\",\"session\":\"s-" + instance + "\",\"instance\":\""
        + instance + "\"}");
  }

  static void readHead(InputStream in) throws IOException {
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed before the end of the head");
      }
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
  }

  Socket connect() throws IOException {
    Socket c = new Socket("127.0.0.1", proxy.port());
    c.setSoTimeout((int) TIMEOUT.toMillis());
    c.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
    return c;
  }

  static void expect(Socket c, byte[] expected) throws IOException {
    assertArrayEquals(expected, c.getInputStream().readNBytes(expected.length));
  }

  Socket upgraded() throws Exception {
    int n = connections.get() + 1;
    Socket c = connect();
    expect(c, ServerFrameSplitterTest.concat(ServerFrameSplitterTest.HEAD.getBytes(StandardCharsets.US_ASCII),
        welcome("g" + n)));
    return c;
  }

  Socket serverSide() throws InterruptedException {
    Socket s = accepted.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    assertTrue(s != null, "the fake gateway got no connection");
    return s;
  }

  @Test
  @DisplayName("forwards both ways and remembers the instance of the welcome")
  void forwards() throws Exception {
    try (Socket c = upgraded()) {
      Socket s = serverSide();
      assertEquals("g1", proxy.lastInstance());
      assertEquals("s-g1", proxy.lastSession());
      c.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
      assertEquals("ping", new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII));
      byte[] frame = ServerFrameSplitterTest.textFrame("{\"type\":\"message\",\"seq\":1}");
      s.getOutputStream().write(frame);
      expect(c, frame);
    }
  }

  @Test
  @DisplayName("injects a reconnect hint between two frames")
  void injects() throws Exception {
    try (Socket c = upgraded()) {
      Socket s = serverSide();
      assertEquals(1, proxy.injectReconnect());
      expect(c, ServerFrameSplitterTest.textFrame(ClientProxy.RECONNECT_HINT));
      byte[] frame = ServerFrameSplitterTest.textFrame("{\"type\":\"message\",\"seq\":2}");
      s.getOutputStream().write(frame);
      expect(c, frame);
    }
  }

  @Test
  @DisplayName("holds every byte while stalled and forwards it when healed")
  void stalls() throws Exception {
    try (Socket c = upgraded()) {
      Socket s = serverSide();
      proxy.stall();
      byte[] frame = ServerFrameSplitterTest.textFrame("{\"type\":\"message\",\"seq\":3}");
      s.getOutputStream().write(frame);
      assertTrue(Poll.until(TIMEOUT, Duration.ofMillis(10), () -> proxy.held() > 0), "the proxy read nothing");
      assertEquals(0, c.getInputStream().available(), "bytes passed a stalled proxy");
      assertEquals(0, proxy.injectReconnect(), "a stalled connection must not get a hint");
      proxy.heal();
      expect(c, frame);
      assertEquals(0, proxy.held());
    }
  }

  @Test
  @DisplayName("resets its connections and refuses new ones until healed")
  void resets() throws Exception {
    try (Socket c = upgraded()) {
      serverSide();
      proxy.reset(true);
      assertThrows(IOException.class, () -> {
        // A reset shows as "Connection reset"; read until it does (or the stream ends, then fail).
        if (c.getInputStream().read() < 0) {
          throw new AssertionError("FIN instead of RST");
        }
      });
    }
    assertThrows(IOException.class, () -> {
      // The reset may come before the request is written, or after: either fails with an IOException.
      try (Socket refused = connect()) {
        if (refused.getInputStream().read() < 0) {
          throw new AssertionError("FIN instead of RST");
        }
      }
    });
    assertTrue(proxy.faulty());
    proxy.heal();
    try (Socket c = upgraded()) {
      assertEquals("g2", proxy.lastInstance());
    }
  }

  @Test
  @DisplayName("closes its connections with FIN on both sides when told to drop them")
  void closesAbruptly() throws Exception {
    try (Socket c = upgraded()) {
      Socket s = serverSide();
      proxy.closeAbruptly();
      assertEquals(-1, c.getInputStream().read());
      assertEquals(-1, s.getInputStream().read());
    }
  }
}
