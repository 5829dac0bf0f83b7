package io.wsgateway.benchmarks.load;

import io.netty.buffer.ByteBuf;
import io.wsgateway.benchmarks.client.BenchClient;
import io.wsgateway.benchmarks.client.BenchClient.WsConnection;
import io.wsgateway.benchmarks.client.Frames;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * {@code fanout}: N subscribers on one topic and one publisher that publishes P messages, at most
 * {@code window} of them not yet received by every subscriber. Reports deliveries per second and, per
 * publish, the time until the last subscriber had it.
 */
final class FanoutScenario {

  private static final String TOPIC = "bench.fanout";
  private static final byte[] MESSAGE = Frames.ascii("{\"type\":\"message\"");
  private static final byte[] ACK = Frames.ascii("{\"type\":\"ack\"");
  private static final byte[] WELCOME = Frames.ascii("{\"type\":\"welcome\"");
  private static final byte[] K = Frames.ascii("\"k\":");
  private static final byte[] T = Frames.ascii("\"t\":");
  private static final byte[] SUBSCRIBE = Frames.ascii("{\"type\":\"subscribe\",\"topic\":\"" + TOPIC + "\",\"id\":\"s\"}");
  // No id: a publish is not acked, so the publisher's socket carries only what is measured.
  private static final byte[] PUB_HEAD = Frames.ascii("{\"type\":\"publish\",\"topic\":\"" + TOPIC + "\",\"data\":{\"k\":");
  private static final byte[] PUB_MID = Frames.ascii(",\"t\":");
  private static final byte[] PUB_TAIL = Frames.ascii("}}");

  private final AtomicInteger welcomed = new AtomicInteger();
  private final AtomicInteger subscribed = new AtomicInteger();
  private final LongAdder deliveries = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final AtomicInteger completed = new AtomicInteger();
  private final Recorder deliveryLatency = new Recorder(3);
  private final Recorder allReceived = new Recorder(3);
  private volatile long lastCompletionNanos;
  private AtomicIntegerArray counts;
  private int subscribers;
  private int publishes;
  private int window;
  private WsConnection publisher;
  private int published;

  private FanoutScenario() {}

  static boolean run(LoadTool.Args args, BenchClient client) throws Exception {
    return new FanoutScenario().execute(args, client);
  }

  private boolean execute(LoadTool.Args args, BenchClient client) throws Exception {
    String url = args.string("url", null);
    subscribers = args.integer("subscribers", 1000);
    publishes = args.integer("publishes", 100);
    window = args.integer("window", 1);
    int sources = args.integer("sources", 2);
    long pid = args.pid("pid");
    System.out.println("scenario: fanout " + args.describe());
    counts = new AtomicIntegerArray(publishes + 1);

    AtomicInteger failures = new AtomicInteger();
    BenchClient.Target[] subTargets = LoadTool.tokenTargets(args, url, "sub", subscribers);
    List<WsConnection> conns = new ArrayList<>(LoadTool.connectAll(client, subTargets, sources, 1000,
        i -> subscriber(), failures, null));
    BenchClient.Target[] pubTarget = LoadTool.tokenTargets(args, url, "pub", 1);
    List<WsConnection> pub = LoadTool.connectAll(client, pubTarget, 1, 1, i -> publisherListener(), failures, null);
    conns.addAll(pub);
    publisher = pub.get(0);
    if (failures.get() > 0 || !LoadTool.await(() -> subscribed.get() >= subscribers && welcomed.get() > subscribers, 60_000)) {
      System.out.println("setup failed: " + subscribed.get() + " of " + subscribers + " subscribed, " + failures.get()
          + " failed, errors " + errors.sum());
      LoadTool.closeAll(conns);
      return false;
    }

    LoadTool.Cpu cpu = new LoadTool.Cpu(pid);
    cpu.start();
    long t0 = System.nanoTime();
    publisher.channel().eventLoop().execute(this::pump);
    boolean all = LoadTool.await(() -> completed.get() >= publishes, 60_000);
    long t1 = all ? lastCompletionNanos : System.nanoTime();
    cpu.stop();
    double seconds = (t1 - t0) / 1e9;
    long total = deliveries.sum();
    Histogram perDelivery = deliveryLatency.getIntervalHistogram();
    Histogram perPublish = allReceived.getIntervalHistogram();
    System.out.printf(Locale.ROOT, "deliveries_per_s: %.0f  (%d deliveries of %d publishes to %d subscribers in %.3f s,"
        + " window %d)%n", total / seconds, total, completed.get(), subscribers, seconds, window);
    System.out.println("time_until_all_received: " + LoadTool.percentilesUs(perPublish));
    System.out.println("delivery_latency: " + LoadTool.percentilesUs(perDelivery));
    System.out.printf("totals: publishes=%d completed=%d deliveries=%d expected=%d errors=%d%n",
        published, completed.get(), total, (long) publishes * subscribers, errors.sum());
    cpu.print(total, "delivery");
    LoadTool.closeAll(conns);
    return all && errors.sum() == 0 && total == (long) publishes * subscribers;
  }

  /** Publishes while the window allows; runs on the publisher's event loop. */
  private void pump() {
    boolean wrote = false;
    while (published < publishes && published - completed.get() < window) {
      published++;
      publisher.write(Frames.build(publisher.channel().alloc(), PUB_HEAD, published, PUB_MID, System.nanoTime(), PUB_TAIL));
      wrote = true;
    }
    if (wrote) {
      publisher.flush();
    }
  }

  private BenchClient.Listener subscriber() {
    return new BenchClient.Listener() {
      @Override
      public void onText(WsConnection c, ByteBuf content) {
        if (Frames.startsWith(content, MESSAGE)) {
          long now = System.nanoTime();
          int k = (int) Frames.longAfter(content, K);
          long t = Frames.longAfter(content, T);
          deliveries.increment();
          deliveryLatency.recordValue(Math.max(0, now - t));
          if (k > 0 && k <= publishes && counts.incrementAndGet(k) == subscribers) {
            allReceived.recordValue(Math.max(0, now - t));
            lastCompletionNanos = now;
            completed.incrementAndGet();
            if (publisher.channel().eventLoop().inEventLoop()) {
              pump();
            } else {
              publisher.channel().eventLoop().execute(FanoutScenario.this::pump);
            }
          }
        } else if (Frames.startsWith(content, WELCOME)) {
          welcomed.incrementAndGet();
          c.writeAndFlush(c.channel().alloc().buffer(SUBSCRIBE.length).writeBytes(SUBSCRIBE));
        } else if (Frames.startsWith(content, ACK)) {
          subscribed.incrementAndGet();
        } else {
          unexpected(content);
        }
      }
    };
  }

  private BenchClient.Listener publisherListener() {
    return (c, content) -> {
      if (Frames.startsWith(content, WELCOME)) {
        welcomed.incrementAndGet();
      } else {
        unexpected(content);
      }
    };
  }

  private void unexpected(ByteBuf content) {
    errors.increment();
    if (errors.sum() <= 3) {
      System.err.println("unexpected frame: " + content.toString(StandardCharsets.UTF_8));
    }
  }
}
