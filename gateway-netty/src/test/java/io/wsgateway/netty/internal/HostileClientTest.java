package io.wsgateway.netty.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.wsgateway.CloseCodes;
import io.wsgateway.Connection;
import io.wsgateway.GatewayListener;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.TestClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 13 item 1: clients that stop reading and flood the gateway with frames that each draw an
 * answer. The outbound buffer of each connection is watched directly (its pending bytes), not the
 * process's memory.
 */
@DisplayName("A client that floods and does not read")
class HostileClientTest {

  static final int LOW = 8 * 1024;
  static final int HIGH = 16 * 1024;
  static final int LIMIT = 64 * 1024;
  /**
   * The limit where only the write gate stands in the way: above what one read's worth of frames
   * (already taken from the socket when reading pauses) can draw in answers, so the grace period, not
   * the limit, ends the connection, and the pause can be seen meanwhile.
   */
  static final int LARGE_LIMIT = 1024 * 1024;
  /** Past this the flood is stopped and the test fails: today's code would queue without end. */
  static final long RUNAWAY = 16L * LARGE_LIMIT;

  static final Map<String, String> closes = new ConcurrentHashMap<>();
  static final GatewayListener RECORDER = new GatewayListener() {
    @Override
    public void onDisconnected(Connection connection, int code, String reason) {
      closes.put(connection.principal().userId(), code + " " + reason);
    }
  };

  /** The default frame rate: a flood of bad frames is charged and counted as protocol errors. */
  @RegisterExtension
  static final GatewayExtension strict = GatewayExtension.create(
      o -> o.writeBufferWaterMarks(LOW, HIGH).writeBufferLimit(LIMIT), b -> b.listener(RECORDER));

  /** A frame rate no flood reaches: only the write gate stands between the flood and memory. */
  @RegisterExtension
  static final GatewayExtension unlimited = GatewayExtension.create(
      o -> o.writeBufferWaterMarks(LOW, HIGH).writeBufferLimit(LARGE_LIMIT).clientMessagesPerSecond(100_000_000)
          .slowConsumerGrace(Duration.ofSeconds(2)),
      b -> b.listener(RECORDER));

  /** What was seen of one connection's outbound side while it was flooded. */
  static final class Watch {
    long maxPending;
    boolean pausedWhileUnwritable;
    long samples;

    void sample(GatewayExtension gateway, String user) {
      for (Connection c : gateway.gateway().connections()) {
        if (c.principal().userId().equals(user) && c instanceof ConnectionHandler h) {
          Channel ch = h.channel();
          ChannelOutboundBuffer buffer = ch.unsafe().outboundBuffer();
          long pending = buffer == null ? 0 : buffer.totalPendingWriteBytes();
          maxPending = Math.max(maxPending, pending);
          if (!ch.isWritable() && !ch.config().isAutoRead()) {
            pausedWhileUnwritable = true;
          }
          samples++;
        }
      }
    }

    @Override
    public String toString() {
      return "max pending " + maxPending + " bytes over " + samples + " samples, paused while unwritable: "
          + pausedWhileUnwritable;
    }
  }

  /** Sends one frame over and over from its own thread, so the test thread never blocks on a full socket. */
  static final class Flood implements AutoCloseable {
    private final RawWebSocket ws;
    private final Thread thread;
    private volatile boolean stop;
    volatile long sent;
    volatile IOException ended;

    Flood(RawWebSocket ws, int opcode, byte[] payload, long maxFrames) {
      this.ws = ws;
      this.thread = new Thread(() -> {
        try {
          while (!stop && sent < maxFrames) {
            ws.sendRepeated(opcode, payload, 1024);
            sent += 1024;
          }
        } catch (IOException e) {
          ended = e;
        }
      }, "flood");
      thread.setDaemon(true);
      thread.start();
    }

    boolean running() {
      return thread.isAlive();
    }

    @Override
    public void close() throws Exception {
      stop = true;
      ws.close(); // unblocks a write stuck on a full socket
      thread.join(Await.DEFAULT_TIMEOUT.toMillis());
    }
  }

  private static RawWebSocket openSilent(GatewayExtension gateway, String user) throws IOException {
    // A small receive buffer: a client that does not read fills it at once.
    RawWebSocket ws = gateway.track(RawWebSocket.open(gateway.port(), "/ws?access_token=" + gateway.token(user),
        Map.of(), 4096));
    assertEquals(101, ws.handshake().status());
    // And a small, fixed send buffer on the gateway's side: otherwise the kernel grows it to megabytes
    // (tcp_wmem) while the client does not read, and the outbound buffer fills only after that.
    Channel ch = Await.value(user + "'s connection", () -> channelOf(gateway, user), Await.DEFAULT_TIMEOUT);
    ch.config().setOption(io.netty.channel.ChannelOption.SO_SNDBUF, 8192);
    return ws;
  }

  private static Channel channelOf(GatewayExtension gateway, String user) {
    for (Connection c : gateway.gateway().connections()) {
      if (c.principal().userId().equals(user) && c instanceof ConnectionHandler h) {
        return h.channel();
      }
    }
    return null;
  }

  /**
   * Floods until {@code user} was disconnected or the flood ran away or ended, sampling the outbound
   * buffer; meanwhile sends {@code bystander} numbered messages. Returns how many it sent.
   */
  private static int floodUntilClosed(GatewayExtension gateway, String user, Flood flood, Watch watch,
      String bystander) {
    long deadline = System.nanoTime() + Await.DEFAULT_TIMEOUT.toNanos();
    int sent = 0;
    while (!closes.containsKey(user) && System.nanoTime() < deadline && watch.maxPending < RUNAWAY
        && flood.ended == null) {
      watch.sample(gateway, user);
      if (bystander != null && watch.samples % 20 == 0) {
        gateway.gateway().sendToUser(bystander, Integer.toString(sent++)).toCompletableFuture().join();
      }
      LockSupport.parkNanos(200_000);
    }
    // The flood may have seen the socket end before the gateway reported the close.
    if (flood.ended != null) {
      Await.until(user + "'s disconnect reported", () -> closes.containsKey(user));
    }
    return sent;
  }

  @Test
  @DisplayName("sending malformed frames is closed with 1008 too many protocol errors, its replies bounded, while others are served")
  void malformedFlood() throws Exception {
    TestClient bystander = strict.connect("bystander-1");
    RawWebSocket ws = openSilent(strict, "malformed");
    Watch watch = new Watch();
    int sent;
    try (Flood flood = new Flood(ws, RawWebSocket.TEXT, "x".getBytes(StandardCharsets.UTF_8), 50_000_000)) {
      sent = floodUntilClosed(strict, "malformed", flood, watch, "bystander-1");
    }
    assertTrue(watch.maxPending <= LIMIT, watch.toString());
    assertEquals(CloseCodes.POLICY_VIOLATION + " " + CloseCodes.REASON_PROTOCOL_ERRORS, closes.get("malformed"),
        () -> "not closed for its errors; " + watch);
    for (int i = 0; i < sent; i++) {
      assertEquals(i, bystander.next("message").path("data").asInt());
    }
    strict.gateway().sendToUser("bystander-1", "\"after\"").toCompletableFuture().join();
    assertEquals("after", bystander.next("message").path("data").asText());
  }

  @Test
  @DisplayName("its close frame says why: 1008 too many protocol errors, once the client reads again")
  void closeFrameNamesTheReason() throws Exception {
    RawWebSocket ws = openSilent(strict, "reader");
    assertTrue(ws.readFrame().text().contains("\"welcome\""));
    ws.sendRepeated(RawWebSocket.TEXT, "x".getBytes(StandardCharsets.UTF_8),
        GatewayOptions.DEFAULT_MAX_PROTOCOL_ERRORS + 1);
    RawWebSocket.Frame f;
    do {
      f = ws.readFrame();
    } while (f != null && f.opcode() == RawWebSocket.TEXT);
    assertTrue(f != null && f.opcode() == RawWebSocket.CLOSE, "expected a close frame");
    assertEquals(CloseCodes.POLICY_VIOLATION, f.closeCode());
    assertEquals(CloseCodes.REASON_PROTOCOL_ERRORS, new String(f.payload(), 2, f.payload().length - 2,
        StandardCharsets.UTF_8));
  }

  @Test
  @DisplayName("sending frames that are each acked is closed with 1008 slow consumer, never queueing past the limit, and is not read meanwhile")
  void ackFloodHitsTheWriteGate() throws Exception {
    TestClient bystander = unlimited.connect("bystander-2");
    RawWebSocket ws = openSilent(unlimited, "acks");
    Watch watch = new Watch();
    byte[] unsubscribe = "{\"type\":\"unsubscribe\",\"topic\":\"t\",\"id\":1}".getBytes(StandardCharsets.UTF_8);
    int sent;
    try (Flood flood = new Flood(ws, RawWebSocket.TEXT, unsubscribe, 50_000_000)) {
      sent = floodUntilClosed(unlimited, "acks", flood, watch, "bystander-2");
    }
    assertTrue(watch.maxPending <= LARGE_LIMIT, watch.toString());
    assertEquals(CloseCodes.POLICY_VIOLATION + " " + CloseCodes.REASON_SLOW_CONSUMER, closes.get("acks"),
        () -> "not closed as a slow consumer; " + watch);
    assertTrue(watch.pausedWhileUnwritable, () -> "reading went on while the channel was unwritable; " + watch);
    for (int i = 0; i < sent; i++) {
      assertEquals(i, bystander.next("message").path("data").asInt());
    }
  }

  @Test
  @DisplayName("sending pings gets at most one pong queued at a time")
  void pingFloodKeepsOnePong() throws Exception {
    RawWebSocket ws = openSilent(unlimited, "pinger");
    Watch watch = new Watch();
    byte[] payload = "p".repeat(125).getBytes(StandardCharsets.UTF_8);
    // 2 MiB of pongs if each ping got its own: far more than the sockets' buffers hold.
    try (Flood flood = new Flood(ws, RawWebSocket.PING, payload, 16_384)) {
      long deadline = System.nanoTime() + Await.DEFAULT_TIMEOUT.toNanos();
      while (flood.running() && System.nanoTime() < deadline && watch.maxPending < RUNAWAY) {
        watch.sample(unlimited, "pinger");
        LockSupport.parkNanos(200_000);
      }
      // The welcome (about 200 bytes) and one pong (127) may wait for the client; nothing more.
      assertTrue(watch.maxPending <= 512, watch.toString());
      assertEquals(16_384, flood.sent, () -> "flood stopped early (" + flood.ended + "); " + watch);
    }
  }
}
