package io.wsgateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.Objects;

/**
 * Mints HS256 tokens for examples, tests and benchmarks. Stateless and thread-safe. Production tokens
 * come from your identity provider, not from here.
 */
public final class JwtTokens {

  private JwtTokens() {}

  /**
   * An HS256 token.
   *
   * @param secret at least 32 bytes
   * @param subject the {@code sub} claim, or {@code null} for none
   * @param extraClaims further claims; {@code sub} and {@code exp} from the other arguments win
   * @param expiresAt the {@code exp} claim, or {@code null} for a token that does not expire (which a
   *     {@link JwtAuthenticator} rejects unless built with {@link JwtAuthenticator.Builder#allowMissingExpiration()})
   * @throws IllegalArgumentException if the secret is shorter than 32 bytes
   */
  public static String hs256(byte[] secret, String subject, Map<String, Object> extraClaims, Instant expiresAt) {
    Objects.requireNonNull(secret, "secret");
    Objects.requireNonNull(extraClaims, "extraClaims");
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder();
    extraClaims.forEach(claims::claim);
    if (subject != null) {
      claims.subject(subject);
    }
    if (expiresAt != null) {
      claims.expirationTime(Date.from(expiresAt));
    }
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims.build());
    try {
      jwt.sign(new MACSigner(secret));
    } catch (JOSEException e) {
      throw new IllegalArgumentException("secret: " + e.getMessage(), e);
    }
    return jwt.serialize();
  }
}
