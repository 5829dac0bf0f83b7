package io.wsgateway.client.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;

/**
 * Keeps the status and JSON body of a refused handshake (e.g. {@code 401 {"error":"token_expired"}})
 * for the attempt's error report: Netty's handshake exception carries neither. Removes itself once
 * the upgrade succeeded.
 */
final class HandshakeSniffer extends ChannelInboundHandlerAdapter {

  private static final int MAX_BODY = 1024;
  private final Conn conn;

  HandshakeSniffer(Conn conn) {
    this.conn = conn;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof FullHttpResponse response) {
      if (response.status().code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
        ctx.pipeline().remove(this);
      } else {
        conn.rejectStatus = response.status().code();
        int n = Math.min(MAX_BODY, response.content().readableBytes());
        conn.rejectBody = response.content().toString(response.content().readerIndex(), n, StandardCharsets.UTF_8);
      }
    }
    ctx.fireChannelRead(msg);
  }
}
