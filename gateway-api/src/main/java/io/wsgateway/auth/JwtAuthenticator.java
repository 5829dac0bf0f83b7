package io.wsgateway.auth;

/** Placeholder: the JWT authenticator lands with its builder and tests. */
final class JwtAuthenticator {
  private JwtAuthenticator() {}
}
