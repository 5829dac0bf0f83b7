package io.wsgateway.benchmarks.load;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.wsgateway.benchmarks.client.BenchClient;
import io.wsgateway.benchmarks.client.BenchClient.WsConnection;
import io.wsgateway.benchmarks.client.Frames;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code hostile}: the memory attack of issue 13 item 1, measured by the gateway's resident memory.
 * N hostile connections stop reading from their sockets and send masked 1-byte text frames ({@code
 * x}, malformed JSON) as fast as their sockets take them; when the gateway closes one, it reconnects
 * after {@code --reconnect-ms} and floods again. Meanwhile well-behaved clients send each other
 * direct messages at a fixed rate, and must keep getting every one.
 *
 * <p>Phases: well-behaved traffic alone for {@code --warmup} seconds (the JIT and the heap's young
 * generation settle: that is the instance's resident memory in service, the baseline), then the
 * attack for {@code --duration} seconds, sampling the gateway's VmRSS every second, then a check that
 * every message sent was received. Clean when the largest RSS during the attack is within {@code
 * --max-growth-mb} of the baseline and no well-behaved message was lost or refused.
 *
 * <pre>
 * hostile --url U --pid P [--hostile 4] [--hostile-users U] [--duration 60] [--warmup 20]
 *         [--good 10] [--rate 200] [--reconnect-ms 1000] [--max-growth-mb 50]
 * </pre>
 */
final class HostileScenario {

  /** One masked text frame of payload {@code x}: FIN+text, mask bit and length 1, mask key, payload. */
  private static final int FRAME_BYTES = 7;
  /** Frames per write: one buffer of about 28 KiB, shared by every write (retained, never copied). */
  private static final int FRAMES_PER_CHUNK = 4096;
  private static final byte[] MESSAGE = Frames.ascii("{\"type\":\"message\"");
  private static final byte[] ACK = Frames.ascii("{\"type\":\"ack\"");
  private static final byte[] ERROR = Frames.ascii("{\"type\":\"error\"");
  private static final byte[] WELCOME = Frames.ascii("{\"type\":\"welcome\"");

  private final ByteBuf chunk = floodChunk();
  private final LongAdder floodFrames = new LongAdder();
  private final AtomicInteger hostileOpen = new AtomicInteger();
  private final AtomicLong hostileClosed = new AtomicLong();
  private final AtomicLong hostileRefused = new AtomicLong();
  private final LongAdder received = new LongAdder();
  private final LongAdder acked = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final AtomicInteger welcomed = new AtomicInteger();
  private volatile boolean attacking;

  private HostileScenario() {}

  static boolean run(LoadTool.Args args, BenchClient client) throws Exception {
    return new HostileScenario().execute(args, client);
  }

  private static ByteBuf floodChunk() {
    byte[] frames = new byte[FRAME_BYTES * FRAMES_PER_CHUNK];
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int n = 0; n < FRAMES_PER_CHUNK; n++) {
      int at = n * FRAME_BYTES;
      byte[] mask = new byte[4];
      r.nextBytes(mask);
      frames[at] = (byte) 0x81;
      frames[at + 1] = (byte) 0x81;
      System.arraycopy(mask, 0, frames, at + 2, 4);
      frames[at + 6] = (byte) ('x' ^ mask[0]);
    }
    return Unpooled.unreleasableBuffer(Unpooled.directBuffer(frames.length).writeBytes(frames));
  }

  private boolean execute(LoadTool.Args args, BenchClient client) throws Exception {
    String url = args.string("url", null);
    long pid = args.pid("pid");
    int hostile = args.integer("hostile", 4);
    // One user holds at most 32 connections per instance (maxConnectionsPerUser): spread them.
    int hostileUsers = args.integer("hostile-users", Math.max(1, (hostile + 24) / 25));
    int duration = args.integer("duration", 60);
    int warmup = args.integer("warmup", 20);
    int good = args.integer("good", 10);
    int rate = args.integer("rate", 200);
    int reconnectMs = args.integer("reconnect-ms", 1000);
    int maxGrowthMb = args.integer("max-growth-mb", 50);
    System.out.println("scenario: hostile " + args.describe());
    if (pid <= 0) {
      LoadTool.usage("hostile needs --pid of the gateway (its VmRSS is the measurement)");
    }
    long rssStartKiB = ProcStats.rssKiB(pid);

    AtomicInteger failures = new AtomicInteger();
    BenchClient.Target[] goodTargets = LoadTool.tokenTargets(args, url, "good-", good);
    List<WsConnection> goodConns = LoadTool.connectAll(client, goodTargets, 1, good, i -> goodListener(), failures,
        null);
    if (failures.get() > 0 || !LoadTool.await(() -> welcomed.get() >= good, 30_000)) {
      System.out.println("setup failed: " + welcomed.get() + " of " + good + " well-behaved clients welcomed");
      LoadTool.closeAll(goodConns);
      return false;
    }
    BenchClient.Target[] hostileUserTargets = LoadTool.tokenTargets(args, url, "hostile-", hostileUsers);

    // Well-behaved traffic: client i sends to client i+1, `rate` messages per second in all.
    AtomicLong sent = new AtomicLong();
    java.util.concurrent.ScheduledExecutorService sender = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    long tickMs = 10;
    double perTick = rate * tickMs / 1000.0;
    double[] owed = {0};
    sender.scheduleAtFixedRate(() -> {
      owed[0] += perTick;
      while (owed[0] >= 1) {
        owed[0] -= 1;
        long n = sent.incrementAndGet();
        int from = (int) (n % good);
        WsConnection c = goodConns.get(from);
        String frame = "{\"type\":\"send\",\"id\":\"" + n + "\",\"to\":\"good-" + ((from + 1) % good) + "\",\"data\":" + n + "}";
        c.writeAndFlush(Unpooled.copiedBuffer(frame, java.nio.charset.StandardCharsets.UTF_8));
      }
    }, tickMs, tickMs, TimeUnit.MILLISECONDS);

    long t0 = System.nanoTime();
    System.out.printf(Locale.ROOT, "rss_start_mb: %.1f (gateway idle, before any client)%n", rssStartKiB / 1024.0);
    System.out.println("      t_s  rss_mb  hostile_open  hostile_closed  refused  frames_written  good_received");
    long[] lastReceived = {0, 0};
    long minGoodPerSecond = Long.MAX_VALUE;
    for (int s = 1; s <= warmup; s++) {
      sleepUntil(t0, s);
      sample(s, pid, lastReceived);
    }
    long rssBaseKiB = ProcStats.rssKiB(pid);
    System.out.printf(Locale.ROOT, "rss_baseline_mb: %.1f (after %d s of well-behaved traffic)%n", rssBaseKiB / 1024.0,
        warmup);

    attacking = true;
    List<Hostile> attackers = new ArrayList<>(hostile);
    for (int i = 0; i < hostile; i++) {
      Hostile h = new Hostile(client, hostileUserTargets[i % hostileUsers], reconnectMs);
      attackers.add(h);
      h.connect();
    }
    long rssMaxKiB = 0;
    long attackStart = System.nanoTime();
    for (int s = 1; s <= duration; s++) {
      sleepUntil(attackStart, s);
      long rss = sample(warmup + s, pid, lastReceived);
      rssMaxKiB = Math.max(rssMaxKiB, rss);
      minGoodPerSecond = Math.min(minGoodPerSecond, lastReceived[1]);
    }
    long rssEndKiB = ProcStats.rssKiB(pid);
    attacking = false;
    for (Hostile h : attackers) {
      h.stop();
    }
    sender.shutdown();
    sender.awaitTermination(5, TimeUnit.SECONDS);
    long total = sent.get();
    boolean allReceived = LoadTool.await(() -> received.sum() >= total && acked.sum() >= total, 10_000);
    LoadTool.closeAll(goodConns);

    // What the gateway still holds: a full GC, then its used heap, and the RSS once the GC gave back what it could.
    long liveHeapKiB = ProcStats.gcAndHeapUsedKiB(pid);
    long rssAfterGcKiB = ProcStats.rssKiB(pid);
    long growthKiB = rssMaxKiB - rssBaseKiB;
    System.out.printf(Locale.ROOT, "rss_mb: start %.1f  baseline %.1f  max_during_attack %.1f  end_of_attack %.1f"
        + "  growth_over_baseline %.1f (limit %d)%n", rssStartKiB / 1024.0, rssBaseKiB / 1024.0, rssMaxKiB / 1024.0,
        rssEndKiB / 1024.0, growthKiB / 1024.0, maxGrowthMb);
    System.out.printf(Locale.ROOT, "after_full_gc: live_heap_mb %.1f  rss_mb %.1f%n", liveHeapKiB / 1024.0,
        rssAfterGcKiB / 1024.0);
    System.out.printf(Locale.ROOT, "hostile: %d connections (%d users), %d closed by the gateway, %d handshakes refused,"
        + " %d frames written to their sockets%n", hostile, hostileUsers, hostileClosed.get(), hostileRefused.get(), floodFrames.sum());
    System.out.printf(Locale.ROOT, "well_behaved: %d sent, %d received, %d acked, %d errors; fewest received in one"
        + " second of the attack: %d (rate %d/s)%n", total, received.sum(), acked.sum(), errors.sum(),
        minGoodPerSecond, rate);
    boolean clean = growthKiB <= maxGrowthMb * 1024L && allReceived && errors.sum() == 0 && minGoodPerSecond > 0;
    if (!clean) {
      System.out.println("NOT CLEAN: " + (growthKiB > maxGrowthMb * 1024L ? "RSS grew too much; " : "")
          + (allReceived ? "" : "well-behaved messages lost; ") + (errors.sum() > 0 ? "errors; " : "")
          + (minGoodPerSecond > 0 ? "" : "a second without delivery; "));
    }
    return clean;
  }

  private static void sleepUntil(long start, int second) throws InterruptedException {
    long wait = start + TimeUnit.SECONDS.toNanos(second) - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }

  /** Prints one line; returns the RSS in KiB. {@code last[1]} becomes the messages received in this second. */
  private long sample(int second, long pid, long[] last) {
    long rss = ProcStats.rssKiB(pid);
    long got = received.sum();
    last[1] = got - last[0];
    last[0] = got;
    System.out.printf(Locale.ROOT, "%9d %7.1f %13d %15d %8d %15d %14d%n", second, rss / 1024.0, hostileOpen.get(),
        hostileClosed.get(), hostileRefused.get(), floodFrames.sum(), last[1]);
    return rss;
  }

  private BenchClient.Listener goodListener() {
    return new BenchClient.Listener() {
      @Override
      public void onText(WsConnection c, ByteBuf content) {
        if (Frames.startsWith(content, MESSAGE)) {
          received.increment();
        } else if (Frames.startsWith(content, ACK)) {
          acked.increment();
        } else if (Frames.startsWith(content, ERROR)) {
          errors.increment();
          if (errors.sum() <= 3) {
            System.err.println("well-behaved client got: " + content.toString(java.nio.charset.StandardCharsets.UTF_8));
          }
        } else if (Frames.startsWith(content, WELCOME)) {
          welcomed.incrementAndGet();
        }
      }
    };
  }

  /** One hostile connection: once open it never reads again and writes as fast as its socket takes. */
  private final class Hostile {
    private final BenchClient client;
    private final BenchClient.Target target;
    private final int reconnectMs;
    private volatile WsConnection connection;

    Hostile(BenchClient client, BenchClient.Target target, int reconnectMs) {
      this.client = client;
      this.target = target;
      this.reconnectMs = reconnectMs;
    }

    void connect() {
      if (!attacking) {
        return;
      }
      client.connect(target, null, new BenchClient.Listener() {
        @Override
        public void onText(WsConnection c, ByteBuf content) {}

        @Override
        public void onClose(WsConnection c) {
          if (c == connection) {
            hostileOpen.decrementAndGet();
            hostileClosed.incrementAndGet();
            connection = null;
            c.channel().eventLoop().schedule(Hostile.this::connect, reconnectMs, TimeUnit.MILLISECONDS);
          }
        }
      }).whenComplete((c, e) -> {
        if (e != null) {
          hostileRefused.incrementAndGet();
          // The gateway may not have noticed the last close yet (per-user limit): try again later.
          scheduleRetry();
          return;
        }
        connection = c;
        hostileOpen.incrementAndGet();
        Channel ch = c.channel();
        ch.eventLoop().execute(() -> {
          ch.config().setAutoRead(false); // never read again: not the welcome, not the errors, not the close
          ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelWritabilityChanged(ChannelHandlerContext ctx) {
              flood(ch);
              ctx.fireChannelWritabilityChanged();
            }
          });
          flood(ch);
        });
      });
    }

    private void scheduleRetry() {
      java.util.concurrent.CompletableFuture.delayedExecutor(reconnectMs, TimeUnit.MILLISECONDS).execute(this::connect);
    }

    /** Writes chunks while the socket takes them; the writability event calls again when it does. */
    private void flood(Channel ch) {
      int chunks = 0;
      while (attacking && ch.isActive() && ch.isWritable() && chunks++ < 16) {
        ch.write(chunk.retainedDuplicate(), ch.voidPromise());
        floodFrames.add(FRAMES_PER_CHUNK);
      }
      ch.flush();
      if (attacking && ch.isActive() && ch.isWritable()) {
        ch.eventLoop().execute(() -> flood(ch)); // let other channels of this loop have a turn
      }
    }

    /** Closes the connection at the end of the run (not counted as closed by the gateway). */
    void stop() {
      WsConnection c = connection;
      connection = null;
      if (c != null) {
        hostileOpen.decrementAndGet();
        c.close();
      }
    }
  }
}
