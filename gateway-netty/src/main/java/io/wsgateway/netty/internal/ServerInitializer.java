package io.wsgateway.netty.internal;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtensionHandler;
import io.netty.handler.ssl.SslContext;
import io.wsgateway.netty.GatewayOptions;

/** Builds the HTTP stage of every accepted channel; the WebSocket stage replaces it after the upgrade. */
final class ServerInitializer extends ChannelInitializer<SocketChannel> {

  /** Largest handshake or route request body: handshakes have none, host routes get a little. */
  private static final int MAX_HTTP_CONTENT = 16 * 1024;

  private final GatewayImpl gateway;
  private final SslContext ssl;
  private final boolean admin;
  /** The admin routes' guard on the admin listener; {@code null} on the public one. */
  private final AdminGuard adminGuard;
  /** One per listener, shared by its channels: the limit is per address, not per channel. Null when off. */
  private final HandshakeRateLimiter handshakeLimiter;

  ServerInitializer(GatewayImpl gateway, SslContext ssl, boolean admin) {
    this.gateway = gateway;
    this.ssl = ssl;
    this.admin = admin;
    GatewayOptions options = gateway.options();
    this.adminGuard = admin ? new AdminGuard(options.adminHost(), options.adminToken()) : null;
    this.handshakeLimiter = admin || options.handshakeRateLimitPerAddress() == 0 ? null
        : new HandshakeRateLimiter(options.handshakeRateLimitPerAddress(), options.handshakeRateLimitPeriod(),
            options.handshakeRateLimitMaxAddresses(), System::nanoTime);
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    if (ssl != null) {
      p.addLast("tls", ssl.newHandler(ch.alloc()));
    }
    p.addLast("http", new HttpServerCodec());
    p.addLast("http-aggregator", new HttpObjectAggregator(MAX_HTTP_CONTENT));
    if (!admin && gateway.options().compression()) {
      p.addLast("ws-extensions", new WebSocketServerExtensionHandler(
          NoContextDeflate.handshaker(gateway.options().compressionLevel(), gateway.options().maxMessageSize())));
    }
    p.addLast("http-handler", new HttpHandler(gateway, adminGuard, handshakeLimiter));
  }
}
