/**
 * Authentication at the handshake and authorization of operations.
 *
 * <p>Start at {@link io.wsgateway.auth.Authenticator} (with {@link io.wsgateway.auth.JwtAuthenticator}
 * ready to use) and {@link io.wsgateway.auth.Authorizer}.
 */
package io.wsgateway.auth;
