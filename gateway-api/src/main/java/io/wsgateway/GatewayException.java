package io.wsgateway;

import java.util.Objects;

/**
 * A failure reported to a sender: carries one of the {@link ErrorCodes}, which becomes the {@code
 * code} of the client's {@code error} frame.
 */
public class GatewayException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final String code;

  public GatewayException(String code, String message) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
  }

  public GatewayException(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  /** The error code, one of {@link ErrorCodes}. */
  public String code() {
    return code;
  }
}
