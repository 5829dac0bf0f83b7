package io.wsgateway.benchmarks.routing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.wsgateway.Gateway;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.benchmarks.AbstractBenchmark;
import io.wsgateway.benchmarks.baseline.BareRouter;
import io.wsgateway.benchmarks.client.BenchClient;
import io.wsgateway.benchmarks.client.BenchClient.WsConnection;
import io.wsgateway.benchmarks.client.Frames;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.NettyGateway;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Direct messages between two users on one real gateway over loopback, with {@code connections - 2}
 * more users connected and idle; beside the same traffic through {@link BareRouter}. One sender sends
 * flat out with at most {@code window} messages in flight (sent, not yet received); one operation is
 * one message delivered to the receiver.
 *
 * <p>The gateway runs one I/O thread and the client one event loop, so on the 2-core machine the
 * server side has about one core. Messages carry no {@code id}, so the gateway writes no ack (the
 * bare router has none either); the load tool's {@code route} scenario measures with acks.
 */
@State(Scope.Benchmark)
public class LocalRoutingBenchmark extends AbstractBenchmark {

  static final int BATCH = 2_000;
  private static final String SECRET = "benchmark-secret-benchmark-secret-0123456789";

  /** Users connected to the server, sender and receiver included. */
  @Param({"2", "1000"})
  public int connections;

  /** Messages in flight between the sender's write and the receiver's read. */
  @Param({"128"})
  public int window;

  private Gateway gateway;
  private BareRouter bare;
  private BenchClient client;
  private Driver viaGateway;
  private Driver viaBare;
  private final List<WsConnection> idle = new ArrayList<>();

  @Setup(Level.Trial)
  public void setup() throws Exception {
    byte[] secret = SECRET.getBytes(StandardCharsets.UTF_8);
    gateway = NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).ioThreads(1)
            .clientMessagesPerSecond(10_000_000).maxConnections(200_000).build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(secret).build())
        .build();
    gateway.start();
    bare = new BareRouter("127.0.0.1", 0, 1);
    client = new BenchClient(1);

    Instant exp = Instant.now().plusSeconds(24 * 3600);
    String gw = "ws://127.0.0.1:" + gateway.port() + "/ws?access_token=";
    String br = "ws://127.0.0.1:" + bare.port() + "/ws?user=";
    viaGateway = Driver.open(client, URI.create(gw + JwtTokens.hs256(secret, "u0", Map.of(), exp)),
        URI.create(gw + JwtTokens.hs256(secret, "u1", Map.of(), exp)), "u1", window);
    viaBare = Driver.open(client, URI.create(br + "u0"), URI.create(br + "u1"), "u1", window);
    List<CompletableFuture<WsConnection>> opening = new ArrayList<>();
    for (int i = 2; i < connections; i++) {
      opening.add(client.connect(URI.create(gw + JwtTokens.hs256(secret, "u" + i, Map.of(), exp)), null, Driver.IGNORE));
      opening.add(client.connect(URI.create(br + "u" + i), null, Driver.IGNORE));
    }
    for (CompletableFuture<WsConnection> f : opening) {
      idle.add(f.get(30, TimeUnit.SECONDS));
    }
    // Welcome frames arrive after registration; wait for them so no batch races a registration.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while ((gateway.connectionCount() < connections || bare.userCount() < connections) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    check(gateway.connectionCount() == connections, "gateway connections " + gateway.connectionCount());
    check(bare.userCount() == connections, "bare router users " + bare.userCount());
    // Sanity: one batch each way must arrive whole before anything is measured.
    viaGateway.run(BATCH);
    viaBare.run(BATCH);
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long route() {
    return viaGateway.run(BATCH);
  }

  /** Baseline: the same clients and traffic through the bare Netty router. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long routeBaselineBareRouter() {
    return viaBare.run(BATCH);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    try {
      viaGateway.checkClean("gateway");
      viaBare.checkClean("bare router");
    } finally {
      client.close();
      bare.close();
      gateway.close();
    }
  }

  /**
   * Drives one sender-receiver pair. All sending and receiving runs on the client's single event
   * loop; the benchmark thread only sets a target and parks until the receiver reaches it.
   */
  static final class Driver implements BenchClient.Listener {
    static final BenchClient.Listener IGNORE = (c, content) -> { };
    private static final byte[] MESSAGE = Frames.ascii("{\"type\":\"message\"");
    private static final byte[] WELCOME = Frames.ascii("{\"type\":\"welcome\"");
    private static final byte[] SEQ = Frames.ascii("\"seq\":");

    private final int window;
    private ByteBuf frame;
    private WsConnection sender;
    private WsConnection receiver;
    // Event-loop confined, except delivered (read by the waiting benchmark thread).
    private long sent;
    private long target;
    private long lastSeq;
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong unexpected = new AtomicLong();
    private volatile Thread waiter;
    private volatile long waitFor;
    private final Runnable fill = this::fill;

    private Driver(int window) {
      this.window = window;
    }

    static Driver open(BenchClient client, URI senderUri, URI receiverUri, String to, int window) throws Exception {
      Driver d = new Driver(window);
      String json = "{\"type\":\"send\",\"to\":\"" + to + "\",\"data\":{\"n\":1234567,\"text\":\"hello\"}}";
      d.frame = Unpooled.unreleasableBuffer(Unpooled.directBuffer().writeBytes(json.getBytes(StandardCharsets.UTF_8)));
      d.receiver = client.connect(receiverUri, null, d).get(30, TimeUnit.SECONDS);
      d.sender = client.connect(senderUri, null, d).get(30, TimeUnit.SECONDS);
      return d;
    }

    /** Sends {@code n} more messages and waits until they were all received; returns the total delivered. */
    long run(int n) {
      long goal = delivered.get() + n;
      waitFor = goal;
      waiter = Thread.currentThread();
      sender.channel().eventLoop().execute(() -> {
        target += n;
        fill();
      });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (delivered.get() < goal) {
        LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(1));
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("delivered " + delivered.get() + " of " + goal + " within 20 s (sent "
              + sent + ", unexpected frames " + unexpected.get() + ")");
        }
      }
      waiter = null;
      return goal;
    }

    private void fill() {
      long limit = Math.min(target, delivered.get() + window);
      if (sent >= limit) {
        return;
      }
      while (sent < limit) {
        sender.write(frame.retainedDuplicate());
        sent++;
      }
      sender.flush();
    }

    @Override
    public void onText(WsConnection c, ByteBuf content) {
      if (c == receiver && Frames.startsWith(content, MESSAGE)) {
        long seq = Frames.longAfter(content, SEQ);
        if (seq != lastSeq + 1 && lastSeq != 0) {
          unexpected.incrementAndGet();
        }
        lastSeq = seq;
        long d = delivered.incrementAndGet();
        if (d >= waitFor) {
          Thread w = waiter;
          if (w != null) {
            LockSupport.unpark(w);
          }
        }
      } else if (!Frames.startsWith(content, WELCOME)) {
        // error frames (e.g. user_offline) or anything else: the path is broken.
        unexpected.incrementAndGet();
      }
    }

    @Override
    public void onReadComplete(WsConnection c) {
      if (c == receiver && sent < target) {
        if (sender.channel().eventLoop().inEventLoop()) {
          fill();
        } else {
          sender.channel().eventLoop().execute(fill);
        }
      }
    }

    void checkClean(String what) {
      check(unexpected.get() == 0, what + ": " + unexpected.get() + " unexpected frames (errors or seq gaps)");
      check(delivered.get() == sent, what + ": delivered " + delivered.get() + " != sent " + sent);
    }
  }
}
