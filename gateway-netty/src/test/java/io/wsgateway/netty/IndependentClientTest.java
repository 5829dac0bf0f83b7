package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.netty.testing.GatewayExtension;
import java.net.URI;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.java_websocket.client.WebSocketClient;
import org.java_websocket.drafts.Draft_6455;
import org.java_websocket.extensions.permessage_deflate.PerMessageDeflateExtension;
import org.java_websocket.handshake.ServerHandshake;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("An independent client library (Java-WebSocket)")
class IndependentClientTest {

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(o -> o.compression(true), b -> b);

  static class Client extends WebSocketClient {
    final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
    volatile String extensions = "";

    Client(URI uri, boolean deflate) {
      super(uri, deflate ? new Draft_6455(new PerMessageDeflateExtension()) : new Draft_6455());
    }

    @Override
    public void onOpen(ServerHandshake handshake) {
      extensions = handshake.getFieldValue("Sec-WebSocket-Extensions");
    }

    @Override
    public void onMessage(String message) {
      frames.add(message);
    }

    @Override
    public void onClose(int code, String reason, boolean remote) {}

    @Override
    public void onError(Exception ex) {}

    String next() throws InterruptedException {
      String f = frames.poll(10, TimeUnit.SECONDS);
      if (f == null) {
        throw new AssertionError("no frame within 10 s");
      }
      return f;
    }
  }

  @Test
  @DisplayName("exchanges messages, with permessage-deflate negotiated without context takeover")
  void exchange() throws Exception {
    Client plain = new Client(gateway.uri(gateway.token("plain")), false);
    Client deflate = new Client(gateway.uri(gateway.token("deflate")), true);
    try {
      assertTrue(plain.connectBlocking(10, TimeUnit.SECONDS));
      assertTrue(deflate.connectBlocking(10, TimeUnit.SECONDS));
      assertTrue(plain.next().contains("\"welcome\""));
      assertTrue(deflate.next().contains("\"welcome\""));
      assertTrue(deflate.extensions.contains("permessage-deflate"), deflate.extensions);
      assertTrue(deflate.extensions.contains("server_no_context_takeover"), deflate.extensions);
      String big = "\"" + "compressible ".repeat(500) + "\"";
      for (String text : List.of("\"hi\"", big)) {
        plain.send("{\"type\":\"send\",\"to\":\"deflate\",\"data\":" + text + "}");
        String m = deflate.next();
        assertTrue(m.contains("\"from\":\"plain\""), m);
        assertTrue(m.contains(text), m);
        deflate.send("{\"type\":\"send\",\"to\":\"plain\",\"data\":" + text + "}");
        assertTrue(plain.next().contains(text));
      }
    } finally {
      plain.closeBlocking();
      deflate.closeBlocking();
    }
  }

  @Test
  @DisplayName("a compressed message that inflates past the maximum size is refused with 1009")
  void decompressionBomb() throws Exception {
    BlockingQueue<Integer> closed = new LinkedBlockingQueue<>();
    Client c = new Client(gateway.uri(gateway.token("bomber")), true) {
      @Override
      public void onClose(int code, String reason, boolean remote) {
        closed.add(code);
      }
    };
    try {
      assertTrue(c.connectBlocking(10, TimeUnit.SECONDS));
      c.next();
      // 1 MB of one character compresses to about 1 KB, well under the 64 KiB frame limit.
      c.send("{\"type\":\"send\",\"to\":\"x\",\"data\":\"" + "a".repeat(1_000_000) + "\"}");
      Integer code = closed.poll(10, TimeUnit.SECONDS);
      assertEquals(1009, code == null ? -1 : code);
    } finally {
      c.closeBlocking();
    }
  }
}
