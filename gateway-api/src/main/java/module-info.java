/** The gateway's public API and SPIs; free of Netty, Redis and RabbitMQ types. */
module io.wsgateway.api {
  requires transitive io.wsgateway.broker;
  requires com.nimbusds.jose.jwt;
  requires org.slf4j;
  requires java.net.http;

  exports io.wsgateway;
  exports io.wsgateway.auth;
  exports io.wsgateway.registry;
  exports io.wsgateway.recovery;
}
