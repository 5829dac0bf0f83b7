package io.wsgateway.benchmarks.load;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.wsgateway.benchmarks.client.BenchClient;
import io.wsgateway.benchmarks.client.BenchClient.WsConnection;
import io.wsgateway.benchmarks.client.Frames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * {@code route}: N users send direct messages in a ring (sender i to user (i+1) % N), at a fixed total
 * rate or flat out with at most {@code window} unanswered messages per sender. Each message asks for
 * an ack ({@code id}) and carries its send time ({@code "t":nanoTime}); the receiver records the
 * latency. With {@code --url2} the receivers connect to a second instance, so every message crosses
 * the registry and the broker.
 *
 * <p>Latency is measured from the actual write, not from the scheduled time; a pacer that falls behind
 * shows as an achieved send rate below the requested one, which the report prints.
 */
final class RouteScenario {

  private static final byte[] MESSAGE = Frames.ascii("{\"type\":\"message\"");
  private static final byte[] ACK = Frames.ascii("{\"type\":\"ack\"");
  private static final byte[] WELCOME = Frames.ascii("{\"type\":\"welcome\"");
  private static final byte[] T = Frames.ascii("\"t\":");
  private static final byte[] HEAD = Frames.ascii("{\"type\":\"send\",\"id\":\"");
  /** Pacer period: short, so a rate run adds little scheduling delay to the measured latency. */
  private static final long PACER_PERIOD_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

  private RouteScenario() {}

  /** One user's sending side; its fields are written only on its connection's event loop. */
  private static final class Sender {
    WsConnection conn;
    byte[] middle;
    byte[] tail;
    volatile long sent;
    volatile long acked;
    volatile long answered;
  }

  private final LongAdder received = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final AtomicInteger welcomed = new AtomicInteger();
  private final Recorder latency = new Recorder(3);
  private final LongAdder stalls = new LongAdder();
  private volatile boolean running;
  private int window;

  static boolean run(LoadTool.Args args, BenchClient client) throws Exception {
    return new RouteScenario().execute(args, client);
  }

  private boolean execute(LoadTool.Args args, BenchClient client) throws Exception {
    String url = args.string("url", null);
    String url2 = args.string("url2", "");
    int users = args.integer("users", 100);
    int rate = args.integer("rate", 0);
    boolean flat = args.flag("flat") || rate == 0;
    window = args.integer("window", 64);
    int duration = args.integer("duration", 10);
    int warmup = args.integer("warmup", 2);
    int payload = args.integer("payload", 0);
    int sources = args.integer("sources", 2);
    long pid = args.pid("pid");
    long pid2 = args.pid("pid2");
    boolean cross = !url2.isEmpty();
    System.out.println("scenario: route " + args.describe() + (flat ? " (flat out)" : " (" + rate + " msg/s)"));

    String sendPrefix = cross ? "s" : "u";
    String recvPrefix = cross ? "r" : "u";
    String pad = payload > 0 ? ",\"p\":\"" + "x".repeat(payload) + "\"" : "";
    Sender[] senders = new Sender[users];
    for (int i = 0; i < users; i++) {
      Sender s = new Sender();
      s.middle = Frames.ascii("\",\"to\":\"" + recvPrefix + ((i + 1) % users) + "\",\"data\":{\"t\":");
      s.tail = Frames.ascii(pad + "}}");
      senders[i] = s;
    }
    AtomicInteger failures = new AtomicInteger();
    BenchClient.Target[] sendTargets = LoadTool.tokenTargets(args, url, sendPrefix, users);
    List<WsConnection> conns = new ArrayList<>(LoadTool.connectAll(client, sendTargets, sources, 1000,
        i -> listener(senders[i], flat), failures, null));
    if (cross) {
      BenchClient.Target[] recvTargets = LoadTool.tokenTargets(args, url2, recvPrefix, users);
      conns.addAll(LoadTool.connectAll(client, recvTargets, sources, 1000, i -> listener(null, flat), failures, null));
    }
    int expected = cross ? 2 * users : users;
    if (failures.get() > 0 || !LoadTool.await(() -> welcomed.get() >= expected, 60_000)) {
      System.out.println("setup failed: " + welcomed.get() + " of " + expected + " welcomed, " + failures.get() + " failed");
      LoadTool.closeAll(conns);
      return false;
    }
    for (int i = 0; i < users; i++) {
      senders[i].conn = conns.get(i);
    }

    running = true;
    List<ScheduledFuture<?>> pacers = new ArrayList<>();
    if (flat) {
      for (Sender s : senders) {
        s.conn.channel().eventLoop().execute(() -> fill(s));
      }
    } else {
      // One pacer per event loop over the senders it owns, each with its share of the rate.
      Map<EventLoop, List<Sender>> byLoop = new LinkedHashMap<>();
      for (Sender s : senders) {
        byLoop.computeIfAbsent(s.conn.channel().eventLoop(), l -> new ArrayList<>()).add(s);
      }
      for (Map.Entry<EventLoop, List<Sender>> e : byLoop.entrySet()) {
        double share = rate * (double) e.getValue().size() / users;
        Pacer p = new Pacer(e.getValue().toArray(new Sender[0]), share);
        pacers.add(e.getKey().scheduleAtFixedRate(p, 0, PACER_PERIOD_NANOS, TimeUnit.NANOSECONDS));
      }
    }

    Thread.sleep(warmup * 1000L);
    LoadTool.Cpu cpu = new LoadTool.Cpu(pid, pid2);
    latency.reset();
    long sent0 = sum(senders, true);
    long recv0 = received.sum();
    long stalls0 = stalls.sum();
    long t0 = System.nanoTime();
    cpu.start();
    Thread.sleep(duration * 1000L);
    long recv1 = received.sum();
    long sent1 = sum(senders, true);
    long t1 = System.nanoTime();
    cpu.stop();
    Histogram h = latency.getIntervalHistogram();
    running = false;
    pacers.forEach(p -> p.cancel(false));

    // Drain: everything sent is answered, and everything acked is received, or 5 s pass.
    LoadTool.await(() -> sum(senders, false) >= sum(senders, true) && received.sum() >= ackedSum(senders), 5_000);
    long sent = sum(senders, true);
    long answered = sum(senders, false);
    long acked = ackedSum(senders);
    long got = received.sum();
    double seconds = (t1 - t0) / 1e9;
    long delivered = recv1 - recv0;
    System.out.printf(Locale.ROOT, "delivered_msgs_per_s: %.0f  (%d in %.1f s; sent %.0f/s%s)%n",
        delivered / seconds, delivered, seconds, (sent1 - sent0) / seconds,
        flat ? ", window " + window + " per sender" : ", requested " + rate + "/s, window-full stalls " + (stalls.sum() - stalls0));
    System.out.println("latency: " + LoadTool.percentilesUs(h));
    System.out.printf("totals: sent=%d acked=%d errors=%d received=%d unanswered=%d lost(acked-received)=%d%n",
        sent, acked, errors.sum(), got, sent - answered, Math.max(0, acked - got));
    cpu.print(delivered, "msg");
    LoadTool.closeAll(conns);
    return errors.sum() == 0 && acked == got && sent == answered && delivered > 0;
  }

  private static long sum(Sender[] senders, boolean sent) {
    long n = 0;
    for (Sender s : senders) {
      n += sent ? s.sent : s.answered;
    }
    return n;
  }

  private static long ackedSum(Sender[] senders) {
    long n = 0;
    for (Sender s : senders) {
      n += s.acked;
    }
    return n;
  }

  /** Writes one message; the caller flushes. Runs on the sender's event loop. */
  private static void send(Sender s) {
    long seq = s.sent + 1;
    ByteBuf frame = Frames.build(s.conn.channel().alloc(), HEAD, seq, s.middle, System.nanoTime(), s.tail);
    s.conn.write(frame);
    s.sent = seq;
  }

  private void fill(Sender s) {
    boolean wrote = false;
    while (running && s.sent - s.answered < window) {
      send(s);
      wrote = true;
    }
    if (wrote) {
      s.conn.flush();
    }
  }

  private BenchClient.Listener listener(Sender s, boolean flat) {
    return new BenchClient.Listener() {
      @Override
      public void onText(WsConnection c, ByteBuf content) {
        if (Frames.startsWith(content, MESSAGE)) {
          long t = Frames.longAfter(content, T);
          if (t > 0) {
            latency.recordValue(Math.max(0, System.nanoTime() - t));
          }
          received.increment();
        } else if (Frames.startsWith(content, ACK)) {
          s.acked++;
          s.answered++;
        } else if (Frames.startsWith(content, WELCOME)) {
          welcomed.incrementAndGet();
        } else {
          errors.increment();
          if (s != null) {
            s.answered++;
          }
          if (errors.sum() <= 3) {
            System.err.println("unexpected frame: " + content.toString(java.nio.charset.StandardCharsets.UTF_8));
          }
        }
      }

      @Override
      public void onReadComplete(WsConnection c) {
        if (flat && s != null && running) {
          fill(s);
        }
      }
    };
  }

  /** Sends the messages due at a fixed rate across its senders, round-robin, respecting each window. */
  private final class Pacer implements Runnable {
    private final Sender[] senders;
    private final double perNano;
    private long start = -1;
    private long issued;
    private int next;
    private final boolean[] dirty;

    Pacer(Sender[] senders, double perSecond) {
      this.senders = senders;
      this.perNano = perSecond / 1e9;
      this.dirty = new boolean[senders.length];
    }

    @Override
    public void run() {
      if (!running) {
        return;
      }
      long now = System.nanoTime();
      if (start < 0) {
        start = now;
      }
      long due = (long) ((now - start) * perNano);
      outer:
      while (issued < due) {
        for (int tries = 0; tries < senders.length; tries++) {
          int i = next;
          next = next + 1 == senders.length ? 0 : next + 1;
          Sender s = senders[i];
          if (s.sent - s.answered < window) {
            send(s);
            dirty[i] = true;
            issued++;
            continue outer;
          }
        }
        stalls.increment();
        break;
      }
      for (int i = 0; i < dirty.length; i++) {
        if (dirty[i]) {
          dirty[i] = false;
          senders[i].conn.flush();
        }
      }
    }
  }
}
