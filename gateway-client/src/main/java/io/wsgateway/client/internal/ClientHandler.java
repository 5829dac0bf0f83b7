package io.wsgateway.client.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

/**
 * The last handler of a client connection: hands text frames, close frames, failures and the end of
 * the connection to {@link ClientImpl}, tagged with the attempt they belong to. Pings are answered
 * by Netty's protocol handler before they get here.
 */
final class ClientHandler extends SimpleChannelInboundHandler<WebSocketFrame> {

  private final ClientImpl client;
  private final Conn conn;

  ClientHandler(ClientImpl client, Conn conn) {
    this.client = client;
    this.conn = conn;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
    if (frame instanceof TextWebSocketFrame text) {
      client.onText(conn, text.text());
    } else if (frame instanceof CloseWebSocketFrame close) {
      client.onCloseFrame(conn, close.statusCode(), close.reasonText());
    }
    // Binary frames are not part of the protocol: ignored.
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    client.onClosed(conn);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (conn.failure == null) {
      conn.failure = cause.toString();
    }
    ctx.close();
  }
}
