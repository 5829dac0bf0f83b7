package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.CloseCodes;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.RawWebSocket;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("Protocol violations close the connection with their close code")
class ProtocolViolationTest {

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(
      o -> o.maxMessageSize(1024).pingInterval(Duration.ofMillis(300)).idleTimeout(Duration.ofMillis(2000)), b -> b);

  private RawWebSocket open(String user) throws Exception {
    RawWebSocket ws = gateway.track(RawWebSocket.open(gateway.port(), "/ws?access_token=" + gateway.token(user), Map.of(), 0));
    assertEquals(101, ws.handshake().status());
    RawWebSocket.Frame welcome = ws.readFrame();
    assertTrue(welcome.text().contains("\"type\":\"welcome\""), welcome.text());
    return ws;
  }

  @Test
  @DisplayName("a message over the maximum size gets 1009")
  void tooBig() throws Exception {
    RawWebSocket ws = open("big");
    byte[] payload = new byte[2048];
    Arrays.fill(payload, (byte) 'a');
    ws.sendFrame(RawWebSocket.TEXT, payload, true);
    assertEquals(CloseCodes.MESSAGE_TOO_BIG, ws.awaitCloseFrame());
  }

  @Test
  @DisplayName("a fragmented message whose parts add up over the maximum size gets 1009")
  void tooBigFragmented() throws Exception {
    RawWebSocket ws = open("frag");
    byte[] part = new byte[700];
    Arrays.fill(part, (byte) 'a');
    ws.sendFrame(RawWebSocket.TEXT, part, false);
    ws.sendFrame(0x0, part, true);
    assertEquals(CloseCodes.MESSAGE_TOO_BIG, ws.awaitCloseFrame());
  }

  @Test
  @DisplayName("a fragmented message within the limit is reassembled")
  void fragmentedOk() throws Exception {
    RawWebSocket ws = open("frag-ok");
    ws.sendFrame(RawWebSocket.TEXT, "{\"type\":\"send\",".getBytes(), false);
    ws.sendFrame(0x0, "\"to\":\"nobody\",\"data\":1,\"id\":\"f\"}".getBytes(), true);
    String reply = ws.readFrame().text();
    assertTrue(reply.contains("\"id\":\"f\"") && reply.contains("user_offline"), reply);
  }

  @Test
  @DisplayName("invalid UTF-8 in a text frame gets 1007")
  void invalidUtf8() throws Exception {
    RawWebSocket ws = open("utf");
    ws.sendFrame(RawWebSocket.TEXT, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}, true);
    assertEquals(CloseCodes.INVALID_PAYLOAD, ws.awaitCloseFrame());
  }

  @Test
  @DisplayName("a binary frame gets 1003 when the host does not accept binary")
  void binary() throws Exception {
    RawWebSocket ws = open("bin");
    ws.sendFrame(RawWebSocket.BINARY, new byte[] {1, 2, 3}, true);
    assertEquals(CloseCodes.UNSUPPORTED_DATA, ws.awaitCloseFrame());
  }

  @Test
  @DisplayName("the server pings, and a client silent past the idle timeout (not even a pong) gets 1008 idle timeout")
  void idleTimeout() throws Exception {
    RawWebSocket ws = open("idle");
    RawWebSocket.Frame first = ws.readFrame();
    assertEquals(RawWebSocket.PING, first.opcode());
    RawWebSocket.Frame f;
    do {
      f = ws.readFrame();
    } while (f != null && f.opcode() == RawWebSocket.PING);
    assertEquals(RawWebSocket.CLOSE, f.opcode());
    assertEquals(CloseCodes.POLICY_VIOLATION, f.closeCode());
    assertTrue(new String(f.payload(), 2, f.payload().length - 2).contains("idle timeout"));
  }

  @Test
  @DisplayName("a client that answers pings stays connected past the idle timeout")
  void pongKeepsAlive() throws Exception {
    RawWebSocket ws = open("lively");
    long until = System.nanoTime() + Duration.ofMillis(3000).toNanos(); // past the idle timeout (2 s)
    while (System.nanoTime() < until) {
      RawWebSocket.Frame f = ws.readFrame();
      assertEquals(RawWebSocket.PING, f.opcode(), "expected only pings, got opcode " + f.opcode());
      ws.sendFrame(RawWebSocket.PONG, f.payload(), true);
    }
    ws.sendText("{\"type\":\"send\",\"to\":\"nobody\",\"data\":1,\"id\":\"alive\"}");
    RawWebSocket.Frame reply;
    do {
      reply = ws.readFrame();
    } while (reply.opcode() == RawWebSocket.PING);
    assertTrue(reply.text().contains("alive"), reply.text());
  }

  @Test
  @DisplayName("a client close frame is echoed with its code")
  void closeHandshake() throws Exception {
    RawWebSocket ws = open("closer");
    ws.sendFrame(RawWebSocket.CLOSE, new byte[] {0x03, (byte) 0xE8}, true);
    assertEquals(CloseCodes.NORMAL, ws.awaitCloseFrame());
    assertTrue(ws.awaitEndOfStream());
  }
}
