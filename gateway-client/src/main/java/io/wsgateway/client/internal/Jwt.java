package io.wsgateway.client.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** Reads the {@code exp} claim of a compact JWT without verifying it: only to schedule the next refresh. */
final class Jwt {

  private static final JsonFactory JSON = new JsonFactory();

  private Jwt() {}

  /** The token's expiry in epoch milliseconds, or -1 if it is not a JWT or has no numeric {@code exp}. */
  static long expiresAtMillis(String token) {
    int first = token.indexOf('.');
    int second = first < 0 ? -1 : token.indexOf('.', first + 1);
    if (second < 0) {
      return -1;
    }
    try {
      byte[] payload = Base64.getUrlDecoder().decode(token.substring(first + 1, second));
      try (JsonParser p = JSON.createParser(new String(payload, StandardCharsets.UTF_8))) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          return -1;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          JsonToken value = p.nextToken();
          if ("exp".equals(name) && value != null && value.isNumeric()) {
            return (long) (p.getDoubleValue() * 1000);
          }
          p.skipChildren();
        }
      }
    } catch (Exception notAJwt) {
      // Opaque tokens are allowed: the server's next welcome tells the expiry instead.
    }
    return -1;
  }
}
