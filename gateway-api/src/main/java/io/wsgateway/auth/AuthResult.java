package io.wsgateway.auth;

import io.wsgateway.Principal;
import java.util.Objects;

/**
 * The outcome of authentication: an accepted {@link Principal}, or a rejection carrying the HTTP
 * status, a machine-readable code and a human-readable message. Immutable.
 */
public final class AuthResult {

  /** HTTP 401, the status of a missing or invalid credential. */
  public static final int STATUS_UNAUTHORIZED = 401;
  /** HTTP 403, the status of a valid credential that is not allowed in. */
  public static final int STATUS_FORBIDDEN = 403;

  private final Principal principal;
  private final int status;
  private final String code;
  private final String message;

  private AuthResult(Principal principal, int status, String code, String message) {
    this.principal = principal;
    this.status = status;
    this.code = code;
    this.message = message;
  }

  /** Accepts the client as {@code principal}. */
  public static AuthResult accept(Principal principal) {
    return new AuthResult(Objects.requireNonNull(principal, "principal"), 0, null, null);
  }

  /**
   * Rejects the client.
   *
   * @param status the HTTP status, 400..599
   * @param code a short machine-readable reason such as {@code token_expired}
   * @param message a human-readable explanation
   */
  public static AuthResult reject(int status, String code, String message) {
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("status: " + status + " (expected: 400..599)");
    }
    return new AuthResult(null, status, Objects.requireNonNull(code, "code"), Objects.requireNonNull(message, "message"));
  }

  /** Rejects with 401. */
  public static AuthResult unauthorized(String code, String message) {
    return reject(STATUS_UNAUTHORIZED, code, message);
  }

  /** Whether the client was accepted. */
  public boolean isAccepted() {
    return principal != null;
  }

  /** The accepted principal; {@code null} for a rejection. */
  public Principal principal() {
    return principal;
  }

  /** The HTTP status of a rejection; 0 when accepted. */
  public int status() {
    return status;
  }

  /** The reason code of a rejection; {@code null} when accepted. */
  public String code() {
    return code;
  }

  /** The message of a rejection; {@code null} when accepted. */
  public String message() {
    return message;
  }

  @Override
  public String toString() {
    return isAccepted() ? "AuthResult{accepted " + principal.userId() + "}"
        : "AuthResult{rejected " + status + " " + code + ": " + message + "}";
  }
}
