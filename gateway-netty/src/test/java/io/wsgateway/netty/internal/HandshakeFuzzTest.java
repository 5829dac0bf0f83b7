package io.wsgateway.netty.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.wsgateway.GatewayRequest;
import io.wsgateway.auth.Authenticator;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.NettyGateway;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Fuzzing of the handshake's parsing of untrusted text: the HTTP request line and headers (Netty's
 * codec), the query string ({@code QueryStringDecoder}, {@code session} and {@code last_seq}), the
 * request view handed to authenticators, and the JWT authenticator's reading of the {@code
 * Authorization} header and {@code access_token}. The real HTTP stage runs on an {@link EmbeddedChannel}
 * against a started gateway whose authenticator reads everything and then asks the JWT authenticator
 * (no fuzzed token verifies, so no WebSocket opens).
 *
 * <p>The property: every complete request is answered with an HTTP response, a JSON body naming the
 * error for every 4xx/5xx, and never a closed channel without an answer (which is how an exception in
 * the stage shows); and no request leaks an admission slot (the instance's limit is small, so a leak
 * would show as {@code instance_full}). Runs as {@link ProtocolFuzzTest} does: corpus and a short
 * random pass in every build, {@code gateway-netty/fuzz.sh handshake} for coverage-guided fuzzing.
 */
@DisplayName("Fuzzing the handshake's query and header parsing")
class HandshakeFuzzTest {

  static final byte[] SECRET = FuzzInputs.bytes("handshake-fuzz-secret-handshake-fuzz-secret");
  static final int MAX_CONNECTIONS = 8;

  static final List<byte[]> SEEDS = List.of(
      request("/ws?access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln&session=k3_x-9&last_seq=41", ""),
      request("/ws?session=abc&last_seq=-1&session=def", "Authorization: Bearer a.b.c\r\n"),
      request("/ws?last_seq=99999999999999999999&session=%41%zz%", "Origin: http://x\r\n"),
      request("/ws", "Authorization: Basic Zm9vOmJhcg==\r\nAuthorization: Bearer \r\n"),
      request("/ws?access_token=%00%ff&session=" + "s".repeat(70), "Sec-WebSocket-Version: 8\r\n"),
      FuzzInputs.bytes("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
      FuzzInputs.bytes("POST /ws?session=a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"));

  static GatewayImpl gateway;
  static final java.net.InetSocketAddress CLIENT = new java.net.InetSocketAddress("127.0.0.1", 40_000);

  /** Reads every part of the request an authenticator can see, then lets the JWT authenticator decide. */
  static final class ReadingEverything implements Authenticator {
    private final Authenticator jwt = JwtAuthenticator.builder().hmacSecret(SECRET).build();

    @Override
    public CompletionStage<io.wsgateway.auth.AuthResult> authenticate(GatewayRequest request) {
      request.method();
      request.path();
      request.remoteAddress();
      for (Map.Entry<String, List<String>> h : request.headers().entrySet()) {
        request.header(h.getKey());
      }
      for (String name : request.queryParameters().keySet()) {
        request.queryParameter(name);
      }
      return jwt.authenticate(request);
    }
  }

  @BeforeAll
  static void start() {
    gateway = (GatewayImpl) NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).maxConnections(MAX_CONNECTIONS).build())
        .authenticator(new ReadingEverything())
        .build();
    gateway.start();
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  static byte[] request(String target, String headers) {
    return FuzzInputs.bytes("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + headers + "\r\n");
  }

  @FuzzTest(maxDuration = "5m")
  void handshake(byte[] input) {
    check(input);
  }

  @Test
  @DisplayName("random mutations of handshakes: always an HTTP answer with a JSON reason, never a silent close or a leaked slot")
  void mutatedHandshakes() {
    long seed = FuzzInputs.seed();
    Random random = new Random(seed);
    for (long i = 0, n = FuzzInputs.iterations() / 4; i < n; i++) {
      byte[] input = FuzzInputs.next(random, SEEDS);
      try {
        check(input);
      } catch (Throwable t) {
        throw new AssertionError("input " + FuzzInputs.describe(input) + " (seed " + seed + ", iteration " + i + ")", t);
      }
    }
  }

  // ---- regressions: inputs the fuzzing found ----

  @Test
  @DisplayName("found: a broken percent-escape in the query string gets 400 bad_request, not a dropped connection")
  void brokenPercentEscape() {
    for (String target : List.of("/ws?session=%41%zz%", "/ws?access_token=%", "/ws?%zz=1", "/w%zzs")) {
      String out = answer(request(target, ""));
      assertTrue(out.startsWith("HTTP/1.1 400 "), () -> target + ": " + out);
      assertTrue(out.contains("{\"error\":\"bad_request\",\"message\":\"malformed request target"), () -> target + ": " + out);
    }
  }

  @Test
  @DisplayName("found: handshakes pipelined behind a handshake are ignored, not each admitted and authenticated")
  void pipelinedHandshakes() {
    byte[] one = request("/ws?access_token=a.b.c", "");
    byte[] many = new byte[one.length * (MAX_CONNECTIONS + 2)];
    for (int i = 0; i < MAX_CONNECTIONS + 2; i++) {
      System.arraycopy(one, 0, many, i * one.length, one.length);
    }
    String out = answer(many);
    assertTrue(out.startsWith("HTTP/1.1 401 "), out);
    assertEquals(1, out.split("HTTP/1.1 ", -1).length - 1, () -> "one answer expected: " + out);
  }

  private static String answer(byte[] input) {
    EmbeddedChannel ch = channel();
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(input));
      ch.runPendingTasks();
      return drain(ch);
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  private static EmbeddedChannel channel() {
    return new EmbeddedChannel(new HttpServerCodec(), new HttpObjectAggregator(16 * 1024),
        new HttpHandler(gateway, null, null)) {
      @Override
      protected java.net.SocketAddress remoteAddress0() {
        return CLIENT; // a socket's kind of address, as the HTTP stage expects
      }
    };
  }

  /** The property: see the class comment. */
  static void check(byte[] input) {
    EmbeddedChannel ch = channel();
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(input));
      ch.runPendingTasks();
      String out = drain(ch);
      if (out.isEmpty()) {
        assertTrue(ch.isOpen(), "closed without an answer (an exception in the HTTP stage?)");
        return;
      }
      assertTrue(out.startsWith("HTTP/1.1 "), () -> "not an HTTP response: " + out);
      int status = Integer.parseInt(out.substring(9, 12));
      // The code, not the text: a 404's message echoes the path, which may say anything.
      assertFalse(out.contains("{\"error\":\"instance_full\""), () -> "an admission slot leaked: " + out);
      int bodyAt = out.indexOf("\r\n\r\n");
      assertTrue(bodyAt > 0, () -> "no end of headers: " + out);
      if (status >= 400 && !out.regionMatches(true, 0, "HTTP/1.1 426", 0, 12)) {
        String body = out.substring(bodyAt + 4);
        assertTrue(body.startsWith("{\"error\":\"") && body.contains("\"message\":"), () -> "no JSON reason: " + out);
      }
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  private static String drain(EmbeddedChannel ch) {
    StringBuilder out = new StringBuilder();
    Object o;
    while ((o = ch.readOutbound()) != null) {
      if (o instanceof ByteBuf b) {
        out.append(b.toString(StandardCharsets.ISO_8859_1));
        b.release();
      } else {
        io.netty.util.ReferenceCountUtil.release(o);
      }
    }
    return out.toString();
  }
}
