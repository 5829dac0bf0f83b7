package io.wsgateway;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * An authenticated identity: the user id, the claims it was granted, and when it expires. Immutable
 * and thread-safe.
 */
public final class Principal {

  private final String userId;
  private final Map<String, Object> claims;
  private final Instant expiresAt;

  private Principal(String userId, Map<String, Object> claims, Instant expiresAt) {
    this.userId = Objects.requireNonNull(userId, "userId");
    if (userId.isEmpty()) {
      throw new IllegalArgumentException("userId: empty (expected: non-empty)");
    }
    this.claims = Map.copyOf(Objects.requireNonNull(claims, "claims"));
    this.expiresAt = expiresAt;
  }

  /** A principal with no claims that never expires. */
  public static Principal of(String userId) {
    return new Principal(userId, Map.of(), null);
  }

  /**
   * A principal with claims and an expiry.
   *
   * @param claims claim values (null values are not allowed)
   * @param expiresAt when the identity expires, or {@code null} for never
   */
  public static Principal of(String userId, Map<String, Object> claims, Instant expiresAt) {
    return new Principal(userId, claims, expiresAt);
  }

  /** The user id. */
  public String userId() {
    return userId;
  }

  /** All claims, unmodifiable. */
  public Map<String, Object> claims() {
    return claims;
  }

  /** One claim, or {@code null}. */
  public Object claim(String name) {
    return claims.get(name);
  }

  /** When this identity expires, or {@code null} if it does not. */
  public Instant expiresAt() {
    return expiresAt;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Principal p && userId.equals(p.userId) && claims.equals(p.claims)
        && Objects.equals(expiresAt, p.expiresAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(userId, claims, expiresAt);
  }

  @Override
  public String toString() {
    return "Principal{userId=" + userId + ", claims=" + claims.keySet() + ", expiresAt=" + expiresAt + "}";
  }
}
