/** A Netty Java client for the gateway's default protocol. */
module io.wsgateway.client {
  requires io.netty.common;
  requires io.netty.buffer;
  requires io.netty.transport;
  requires io.netty.codec;
  requires io.netty.codec.http;
  requires io.netty.handler;
  requires io.netty.transport.classes.epoll;
  requires com.fasterxml.jackson.core;
  requires org.slf4j;

  exports io.wsgateway.client;
}
