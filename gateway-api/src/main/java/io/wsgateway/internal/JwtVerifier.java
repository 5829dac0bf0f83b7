package io.wsgateway.internal;

import static io.wsgateway.auth.JwtAuthenticator.REJECT_BAD_SIGNATURE;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_INVALID_AUDIENCE;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_INVALID_ISSUER;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_INVALID_TYPE;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_JWKS_UNAVAILABLE;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_MISSING_EXPIRATION;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_MISSING_SUBJECT;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_TOKEN_EXPIRED;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_TOKEN_MALFORMED;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_TOKEN_MISSING;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_TOKEN_NOT_YET_VALID;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_UNKNOWN_KEY;
import static io.wsgateway.auth.JwtAuthenticator.REJECT_UNSUPPORTED_ALGORITHM;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.wsgateway.Principal;
import io.wsgateway.auth.AuthResult;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Verifies a compact JWS token against configured keys and an optional remote JWK set, then checks
 * its claims. Thread-safe and non-blocking: with keys at hand the result is an already completed
 * stage; only a JWK set fetch completes later.
 *
 * <p>Order of checks: form, algorithm, key, signature, then claims, so that nothing about the claims
 * of a token is revealed before its signature is known to be good.
 */
public final class JwtVerifier {

  /** Longer tokens are rejected before parsing; real tokens are well under this. */
  public static final int MAX_TOKEN_LENGTH = 16 * 1024;

  /** Algorithms a remote JWK set may serve: asymmetric only, see {@link VerificationKey#fromJwkSet}. */
  private static final Set<JWSAlgorithm> REMOTE_ALGORITHMS;

  static {
    Set<JWSAlgorithm> algs = new LinkedHashSet<>(JWSAlgorithm.Family.RSA);
    algs.addAll(JWSAlgorithm.Family.EC);
    REMOTE_ALGORITHMS = Collections.unmodifiableSet(algs);
  }

  /** {@code typ} values every verifier accepts: plain JWTs and OAuth access tokens (RFC 9068). */
  public static final Set<String> STANDARD_TYPES = Collections.unmodifiableSet(new LinkedHashSet<>(List.of("jwt", "at+jwt")));

  /**
   * The claim rules.
   *
   * @param issuer the required {@code iss}, or {@code null}
   * @param audience the required {@code aud} member, or {@code null}
   * @param requireExpiration whether a token without {@code exp} is rejected
   * @param allowedTypes accepted {@code typ} values besides absent, normalised by {@link #normalizeType}
   */
  public record Rules(String issuer, String audience, boolean requireExpiration, Set<String> allowedTypes,
      Duration clockSkew, String userIdClaim) {
    public Rules {
      allowedTypes = Collections.unmodifiableSet(new LinkedHashSet<>(allowedTypes));
      Objects.requireNonNull(clockSkew, "clockSkew");
      Objects.requireNonNull(userIdClaim, "userIdClaim");
    }
  }

  private final List<VerificationKey> staticKeys;
  private final RemoteJwks remote;
  private final Set<JWSAlgorithm> acceptedAlgorithms;
  private final Rules rules;
  private final Clock clock;

  /** @param remote the remote JWK set, or {@code null} */
  public JwtVerifier(List<VerificationKey> staticKeys, RemoteJwks remote, Rules rules, Clock clock) {
    this.staticKeys = List.copyOf(staticKeys);
    this.remote = remote;
    this.rules = Objects.requireNonNull(rules, "rules");
    this.clock = Objects.requireNonNull(clock, "clock");
    Set<JWSAlgorithm> algs = new LinkedHashSet<>();
    for (VerificationKey key : this.staticKeys) {
      algs.addAll(key.algorithms());
    }
    if (remote != null) {
      algs.addAll(REMOTE_ALGORITHMS);
    }
    this.acceptedAlgorithms = Collections.unmodifiableSet(algs);
  }

  /**
   * A {@code typ} value as compared: lower case (media types are case-insensitive) and without the
   * {@code application/} prefix that RFC 7515 section 4.1.9 lets producers omit.
   */
  public static String normalizeType(String typ) {
    String t = typ.strip().toLowerCase(Locale.ROOT);
    return t.startsWith("application/") ? t.substring("application/".length()) : t;
  }

  /** Verifies {@code token} (may be null: then {@code token_missing}). */
  public CompletionStage<AuthResult> verify(String token) {
    if (token == null || token.isBlank()) {
      return done(reject(REJECT_TOKEN_MISSING, "no token"));
    }
    if (token.length() > MAX_TOKEN_LENGTH) {
      return done(reject(REJECT_TOKEN_MALFORMED, "token longer than " + MAX_TOKEN_LENGTH + " characters"));
    }
    JWT jwt;
    try {
      jwt = JWTParser.parse(token);
    } catch (ParseException e) {
      return done(reject(REJECT_TOKEN_MALFORMED, "not a compact JWT: " + e.getMessage()));
    }
    if (jwt instanceof PlainJWT) {
      return done(reject(REJECT_UNSUPPORTED_ALGORITHM, "unsecured tokens (alg none) are not accepted"));
    }
    if (!(jwt instanceof SignedJWT signed)) {
      return done(reject(REJECT_UNSUPPORTED_ALGORITHM, "encrypted tokens are not accepted"));
    }
    JWSAlgorithm alg = signed.getHeader().getAlgorithm();
    // Decided before any key is touched: an HS256 token against public keys only is never checked
    // with the public key bytes as an HMAC secret (algorithm confusion).
    if (!acceptedAlgorithms.contains(alg)) {
      return done(reject(REJECT_UNSUPPORTED_ALGORITHM,
          "alg " + alg + " does not match the configured keys (accepted: " + acceptedAlgorithms + ")"));
    }
    String kid = signed.getHeader().getKeyID();
    if (remote != null && REMOTE_ALGORITHMS.contains(alg)) {
      // current(), not snapshot(): it also starts the periodic refresh when due, in the background.
      RemoteJwks.Snapshot snapshot = remote.current();
      if (!snapshot.loaded() || !hasKey(snapshot, kid, alg)) {
        return remote.refresh().thenApply(fresh -> check(signed, alg, kid, fresh));
      }
      return done(check(signed, alg, kid, snapshot));
    }
    return done(check(signed, alg, kid, null));
  }

  /** Whether a key for this token is known: by exact kid if it has one, else by algorithm. */
  private boolean hasKey(RemoteJwks.Snapshot snapshot, String kid, JWSAlgorithm alg) {
    for (List<VerificationKey> keys : List.of(staticKeys, snapshot.keys())) {
      for (VerificationKey key : keys) {
        if (kid != null ? kid.equals(key.kid()) : key.algorithms().contains(alg)) {
          return true;
        }
      }
    }
    return false;
  }

  private AuthResult check(SignedJWT jwt, JWSAlgorithm alg, String kid, RemoteJwks.Snapshot snapshot) {
    List<VerificationKey> byKid = new ArrayList<>();
    addMatching(byKid, staticKeys, kid);
    if (snapshot != null) {
      addMatching(byKid, snapshot.keys(), kid);
    }
    if (byKid.isEmpty()) {
      if (snapshot != null && snapshot.failure() != null) {
        return reject(REJECT_JWKS_UNAVAILABLE, "cannot fetch the JWK set: " + snapshot.failure());
      }
      return reject(REJECT_UNKNOWN_KEY, kid == null ? "no key for the token" : "no key with kid " + quote(kid));
    }
    JWSHeader header = jwt.getHeader();
    boolean anyUsable = false;
    for (VerificationKey key : byKid) {
      if (!key.algorithms().contains(alg)) {
        continue;
      }
      anyUsable = true;
      try {
        // The verifier directly, not jwt.verify(): no state change on the parsed token.
        if (key.verifier().verify(header, jwt.getSigningInput(), jwt.getSignature())) {
          return checkClaims(jwt);
        }
      } catch (JOSEException e) {
        return reject(REJECT_BAD_SIGNATURE, "signature cannot be checked: " + e.getMessage());
      }
    }
    if (!anyUsable) {
      return reject(REJECT_UNSUPPORTED_ALGORITHM, "alg " + alg + " does not match key " + byKid.get(0));
    }
    return reject(REJECT_BAD_SIGNATURE, "signature does not verify");
  }

  private static void addMatching(List<VerificationKey> out, List<VerificationKey> keys, String kid) {
    for (VerificationKey key : keys) {
      if (key.matchesKid(kid)) {
        out.add(key);
      }
    }
  }

  private AuthResult checkClaims(SignedJWT jwt) {
    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      return reject(REJECT_TOKEN_MALFORMED, "bad claims: " + e.getMessage());
    }
    // typ is a header, but judged here, after the signature, like the claims: an unsigned header says nothing.
    JOSEObjectType type = jwt.getHeader().getType();
    if (type != null && !rules.allowedTypes().contains(normalizeType(type.getType()))) {
      return reject(REJECT_INVALID_TYPE, "typ " + quote(type.getType()) + " (expected: absent, "
          + String.join(", ", displayTypes()) + ")");
    }
    Instant now = clock.instant();
    Duration clockSkew = rules.clockSkew();
    Date exp = claims.getExpirationTime();
    if (exp == null && rules.requireExpiration()) {
      return reject(REJECT_MISSING_EXPIRATION, "token has no exp claim");
    }
    if (exp != null && !now.isBefore(exp.toInstant().plus(clockSkew))) {
      return reject(REJECT_TOKEN_EXPIRED, "token expired at " + exp.toInstant());
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now.plus(clockSkew).isBefore(nbf.toInstant())) {
      return reject(REJECT_TOKEN_NOT_YET_VALID, "token not valid before " + nbf.toInstant());
    }
    String issuer = rules.issuer();
    String audience = rules.audience();
    if (issuer != null && !issuer.equals(claims.getIssuer())) {
      return reject(REJECT_INVALID_ISSUER, "iss " + quote(claims.getIssuer()) + " (expected: " + quote(issuer) + ")");
    }
    if (audience != null && (claims.getAudience() == null || !claims.getAudience().contains(audience))) {
      return reject(REJECT_INVALID_AUDIENCE, "aud " + claims.getAudience() + " does not contain " + quote(audience));
    }
    Object userId = claims.getClaim(rules.userIdClaim());
    if (!(userId instanceof String id) || id.isEmpty()) {
      return reject(REJECT_MISSING_SUBJECT, "no non-empty string claim " + quote(rules.userIdClaim()));
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> frozen = (Map<String, Object>) freeze(claims.toJSONObject());
    return AuthResult.accept(Principal.of(id, frozen, exp == null ? null : exp.toInstant()));
  }

  /** A deep unmodifiable copy, so a Principal's claims stay immutable all the way down. */
  private static Object freeze(Object value) {
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> copy = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (e.getValue() != null) {
          copy.put(String.valueOf(e.getKey()), freeze(e.getValue()));
        }
      }
      return Collections.unmodifiableMap(copy);
    }
    if (value instanceof List<?> list) {
      List<Object> copy = new ArrayList<>(list.size());
      for (Object item : list) {
        copy.add(freeze(item));
      }
      return Collections.unmodifiableList(copy);
    }
    return value;
  }

  /** Quotes a token-supplied value for a message, cut short: it is attacker-controlled text. */
  private static String quote(String value) {
    if (value == null) {
      return "null";
    }
    return "'" + (value.length() > 64 ? value.substring(0, 64) + "..." : value) + "'";
  }

  private static AuthResult reject(String code, String message) {
    return AuthResult.unauthorized(code, message);
  }

  private static CompletionStage<AuthResult> done(AuthResult result) {
    return CompletableFuture.completedFuture(result);
  }

  /** The accepted types for messages: the standard ones as registered (JWT upper case), then the configured. */
  private List<String> displayTypes() {
    List<String> out = new ArrayList<>();
    for (String t : rules.allowedTypes()) {
      out.add(t.equals("jwt") ? "JWT" : t);
    }
    return out;
  }

  /** The rules, without key material; {@code audience=<any>} when {@code audience} is null. */
  @Override
  public String toString() {
    return "keys=" + staticKeys + ", jwksUri=" + remote + ", issuer=" + rules.issuer() + ", audience="
        + (rules.audience() == null ? "<any>" : rules.audience()) + ", requireExpiration=" + rules.requireExpiration()
        + ", allowedTokenTypes=" + rules.allowedTypes() + ", clockSkew=" + rules.clockSkew()
        + ", userIdClaim=" + rules.userIdClaim();
  }
}
