package io.wsgateway;

import java.util.concurrent.CompletionStage;

/**
 * A host HTTP endpoint served on the gateway's port beside the WebSocket path, e.g. a token endpoint
 * or a static page.
 *
 * <p>Called on an I/O thread: must not block; return an incomplete stage for slow work.
 */
@FunctionalInterface
public interface HttpRoute {

  /** Answers one request. A failed stage is answered with 500. */
  CompletionStage<HttpReply> handle(GatewayRequest request);
}
