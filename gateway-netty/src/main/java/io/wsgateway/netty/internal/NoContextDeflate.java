package io.wsgateway.netty.internal;

import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionData;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtension;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtensionHandshaker;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker;
import java.util.HashMap;
import java.util.Map;

/**
 * permessage-deflate that never keeps compressor state between messages. A deflate context costs
 * hundreds of KB per connection; with {@code no_context_takeover} in both directions the
 * (de)compressor is released after each message. RFC 7692 lets the server demand both parameters
 * even when the client did not offer them, so they are added to every offer before negotiating.
 */
final class NoContextDeflate {

  private static final String PERMESSAGE_DEFLATE = "permessage-deflate";

  private NoContextDeflate() {}

  static WebSocketServerExtensionHandshaker handshaker(int level, int maxInflatedSize) {
    PerMessageDeflateServerExtensionHandshaker delegate = new PerMessageDeflateServerExtensionHandshaker(
        level, false, PerMessageDeflateServerExtensionHandshaker.MAX_WINDOW_SIZE, true, true, maxInflatedSize);
    return offer -> {
      if (!PERMESSAGE_DEFLATE.equals(offer.name())) {
        return null;
      }
      Map<String, String> params = new HashMap<>(offer.parameters());
      params.put("server_no_context_takeover", null);
      params.put("client_no_context_takeover", null);
      WebSocketServerExtension extension = delegate.handshakeExtension(new WebSocketExtensionData(offer.name(), params));
      return extension;
    };
  }
}
