package io.wsgateway.auth;

import io.wsgateway.GatewayRequest;
import io.wsgateway.Principal;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides who a client is from its WebSocket handshake request, before the upgrade.
 *
 * <p>Called on an I/O thread: must not block. Work that waits (a remote call, a key fetch) returns an
 * incomplete stage and completes it later. Implementations are thread-safe.
 */
@FunctionalInterface
public interface Authenticator {

  /**
   * Authenticates a handshake.
   *
   * @return the accepted principal, or a rejection with the HTTP status and reason sent to the client;
   *     a stage that fails is answered with 500
   */
  CompletionStage<AuthResult> authenticate(GatewayRequest request);

  /**
   * Checks a fresh credential sent by a connected client ({@code refresh} frame). The gateway accepts
   * the result only if it names the same user. Default: refresh unsupported.
   */
  default CompletionStage<AuthResult> refresh(Principal current, String token) {
    return CompletableFuture.completedFuture(
        AuthResult.reject(AuthResult.STATUS_UNAUTHORIZED, "refresh_unsupported", "this authenticator cannot refresh"));
  }
}
