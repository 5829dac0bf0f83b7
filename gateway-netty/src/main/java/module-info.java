/** The Netty WebSocket transport and gateway engine. */
module io.wsgateway.netty {
  requires transitive io.wsgateway.api;
  requires io.netty.common;
  requires io.netty.buffer;
  requires io.netty.transport;
  requires io.netty.codec;
  requires io.netty.codec.http;
  requires io.netty.codec.compression;
  requires io.netty.handler;
  requires io.netty.transport.classes.epoll;
  requires io.netty.transport.unix.common;
  requires com.fasterxml.jackson.core;
  requires org.slf4j;

  exports io.wsgateway.netty;
}
