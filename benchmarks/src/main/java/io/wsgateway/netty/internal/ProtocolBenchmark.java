package io.wsgateway.netty.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.wsgateway.benchmarks.AbstractBenchmark;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Parse of client frames and write of {@code message} frames by the default JSON protocol, beside
 * Jackson's tree parse of the same bytes.
 *
 * <p>This class sits in {@code io.wsgateway.netty.internal}, not {@code io.wsgateway.benchmarks.protocol}
 * where the suite layout would put it, because {@link Protocol} is package-private and must stay so.
 * The split package is harmless: benchmarks.jar runs on the class path, where module boundaries do
 * not apply.
 */
@State(Scope.Thread)
public class ProtocolBenchmark extends AbstractBenchmark {

  /** The client frame parsed: {@code send} or {@code publish}, with a small or a 1 KiB data member. */
  @Param({"send-small", "send-1k", "publish-small", "publish-1k"})
  public String frame;

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

  private byte[] bytes;
  private byte[] data;
  private byte[] prefix;
  private long seq;

  @Setup
  public void setup() throws Exception {
    boolean large = frame.endsWith("1k");
    data = dataMember(large ? 1024 : 16).getBytes(StandardCharsets.UTF_8);
    String head = frame.startsWith("send")
        ? "{\"type\":\"send\",\"id\":\"42\",\"to\":\"user-0001\",\"data\":"
        : "{\"type\":\"publish\",\"id\":\"42\",\"topic\":\"rooms.lobby\",\"data\":";
    bytes = (head + new String(data, StandardCharsets.UTF_8) + "}").getBytes(StandardCharsets.UTF_8);
    prefix = Protocol.messagePrefix("user-0002", frame.startsWith("send") ? null : "rooms.lobby", data);

    // Sanity: the parser returns what the frame carries, and the written frame is the JSON we expect.
    ClientFrame f = Protocol.parse(bytes);
    check(f.type().equals(frame.startsWith("send") ? "send" : "publish"), "type of " + frame);
    check(java.util.Arrays.equals(f.data(), data), "data slice of " + frame);
    ByteBuf out = Protocol.message(alloc, prefix, 7);
    try {
      JsonNode written = MAPPER.readTree(out.toString(StandardCharsets.UTF_8));
      check(written.get("seq").asLong() == 7 && written.get("type").asText().equals("message"), "message frame");
      check(written.get("data").equals(MAPPER.readTree(data)), "message data");
    } finally {
      out.release();
    }
    check(MAPPER.readTree(bytes).get("type") != null, "readTree baseline");
  }

  /** A JSON object of about {@code size} bytes, shaped like an application payload. */
  static String dataMember(int size) {
    StringBuilder b = new StringBuilder("{\"t\":1700000000000,\"text\":\"");
    while (b.length() < size - 2) {
      b.append('x');
    }
    return b.append("\"}").toString();
  }

  @Benchmark
  public ClientFrame decode() throws Protocol.MalformedFrameException {
    return Protocol.parse(bytes);
  }

  /** Baseline: Jackson's generic tree parse of the same frame, which the protocol avoids. */
  @Benchmark
  public JsonNode decodeBaselineReadTree() throws IOException {
    return MAPPER.readTree(bytes);
  }

  /**
   * Writes one message frame the way the engine does per delivery: the prefix shared by every
   * recipient is built once per routed message, so this measures prefix plus one frame.
   */
  @Benchmark
  public void encode(Blackhole bh) {
    byte[] p = Protocol.messagePrefix("user-0002", null, data);
    ByteBuf buf = Protocol.message(alloc, p, ++seq);
    bh.consume(buf.readableBytes());
    buf.release();
  }

  /** The per-recipient part alone: the shared prefix is reused, only seq and the buffer are new. */
  @Benchmark
  public void encodeFrameOnly(Blackhole bh) {
    ByteBuf buf = Protocol.message(alloc, prefix, ++seq);
    bh.consume(buf.readableBytes());
    buf.release();
  }
}
