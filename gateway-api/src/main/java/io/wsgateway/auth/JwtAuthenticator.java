package io.wsgateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.JWKSet;
import io.wsgateway.GatewayRequest;
import io.wsgateway.Principal;
import io.wsgateway.internal.JwtVerifier;
import io.wsgateway.internal.RemoteJwks;
import io.wsgateway.internal.VerificationKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * An {@link Authenticator} that accepts a signed JWT (JWS, compact form) from the {@code
 * Authorization: Bearer} header or, for browsers that cannot set headers on a WebSocket, from a query
 * parameter; the header wins when both are present. Keys are an HMAC secret, RSA or EC public keys, a
 * JWK set file, and/or a JWK set URL. Built with {@link #builder()}.
 *
 * <p>Thread-safe; share one instance. Never blocks: with keys at hand every method returns an already
 * completed stage; a JWK set fetch ({@link Builder#jwksUri}) is asynchronous and its stage completes on
 * the HTTP client's thread. Holds no resource that needs closing.
 *
 * <p>Defaults are strict where laxness lets foreign tokens in: a token must carry {@code exp} (unless
 * {@link Builder#allowMissingExpiration()}); a {@code typ} header, where present, must be {@code JWT},
 * {@code at+jwt} or a value given to {@link Builder#allowedTokenType}; and with a JWK set ({@link
 * Builder#jwksUri} or {@link Builder#jwksFile}) an {@link Builder#audience} is required, because an
 * identity provider signs the tokens of all its applications with the same keys ({@link
 * Builder#allowAnyAudience()} waives it). An HMAC secret or a single public key given directly needs no
 * audience: such a key is taken to belong to this application alone.
 *
 * <p>A rejection is a 401 {@link AuthResult} whose code is one of the {@code REJECT_*} constants
 * below; they are part of the public contract. Tokens longer than {@value JwtVerifier#MAX_TOKEN_LENGTH}
 * characters are rejected as {@link #REJECT_TOKEN_MALFORMED}. Note that a query-parameter token may
 * end up in access logs; prefer the header where the client can set it.
 */
public final class JwtAuthenticator implements Authenticator {

  /** Default of {@link Builder#clockSkew}: {@code PT1M}, allowed for {@code exp} and {@code nbf}. */
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
  /** Default of {@link Builder#userIdClaim}: {@value}. */
  public static final String DEFAULT_USER_ID_CLAIM = "sub";
  /** Default of {@link Builder#queryParameter}: {@value}, the name RFC 6750 uses. */
  public static final String DEFAULT_QUERY_PARAMETER = "access_token";
  /** Default of {@link Builder#jwksRefreshMinInterval}: {@code PT30S}. */
  public static final Duration DEFAULT_JWKS_REFRESH_MIN_INTERVAL = Duration.ofSeconds(30);
  /**
   * Default of {@link Builder#jwksRefreshInterval}: {@code PT10M}, the time a fetched JWK set is kept
   * when its response has no {@code Cache-Control: max-age}.
   */
  public static final Duration DEFAULT_JWKS_REFRESH_INTERVAL = Duration.ofMinutes(10);
  /** Default lower bound of {@link Builder#jwksMaxAgeBounds}: {@code PT1M}. */
  public static final Duration DEFAULT_JWKS_MIN_MAX_AGE = Duration.ofMinutes(1);
  /** Default upper bound of {@link Builder#jwksMaxAgeBounds}: {@code PT24H}, so a revoked key is dropped within a day. */
  public static final Duration DEFAULT_JWKS_MAX_MAX_AGE = Duration.ofDays(1);
  /** Default of {@link Builder#jwksFetchTimeout}: {@code PT10S} for a whole fetch, body included. */
  public static final Duration DEFAULT_JWKS_FETCH_TIMEOUT = Duration.ofSeconds(10);

  /** No token in the header or the query. */
  public static final String REJECT_TOKEN_MISSING = "token_missing";
  /** Not a compact JWT, or its claims are not valid JSON claims. */
  public static final String REJECT_TOKEN_MALFORMED = "token_malformed";
  /** {@code exp} is past, clock skew included. */
  public static final String REJECT_TOKEN_EXPIRED = "token_expired";
  /** {@code nbf} is ahead, clock skew included. */
  public static final String REJECT_TOKEN_NOT_YET_VALID = "token_not_yet_valid";
  /** The signature does not verify with any matching key. */
  public static final String REJECT_BAD_SIGNATURE = "bad_signature";
  /** {@code alg} is {@code none}, unknown, encrypted, or does not fit the configured key types. */
  public static final String REJECT_UNSUPPORTED_ALGORITHM = "unsupported_algorithm";
  /** No key with the token's {@code kid}, even after refreshing the JWK set. */
  public static final String REJECT_UNKNOWN_KEY = "unknown_key";
  /** {@code iss} is not the configured issuer. */
  public static final String REJECT_INVALID_ISSUER = "invalid_issuer";
  /** {@code aud} does not contain the configured audience. */
  public static final String REJECT_INVALID_AUDIENCE = "invalid_audience";
  /** The user id claim is absent, empty or not a string. */
  public static final String REJECT_MISSING_SUBJECT = "missing_subject";
  /** The JWK set could not be fetched, so the token's key could not be found. */
  public static final String REJECT_JWKS_UNAVAILABLE = "jwks_unavailable";
  /** The token has no {@code exp}, and {@link Builder#allowMissingExpiration()} was not called. */
  public static final String REJECT_MISSING_EXPIRATION = "missing_expiration";
  /**
   * The header's {@code typ} is set to something other than {@code JWT}, {@code at+jwt} or a value
   * given to {@link Builder#allowedTokenType}: an ID token, a DPoP proof or a logout token, say.
   */
  public static final String REJECT_INVALID_TYPE = "invalid_type";

  private static final String BEARER = "bearer";

  private final JwtVerifier verifier;
  private final String queryParameter;
  private final String description;

  private JwtAuthenticator(JwtVerifier verifier, String queryParameter, String description) {
    this.verifier = verifier;
    this.queryParameter = queryParameter;
    this.description = description;
  }

  /** A builder; at least one key source must be set. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletionStage<AuthResult> authenticate(GatewayRequest request) {
    Objects.requireNonNull(request, "request");
    String token = bearerToken(request.header("Authorization"));
    if (token == null) {
      token = request.queryParameter(queryParameter);
    }
    return verify(token);
  }

  /** Verifies a token sent on a live connection by the same rules as the handshake. */
  @Override
  public CompletionStage<AuthResult> refresh(Principal current, String token) {
    Objects.requireNonNull(current, "current");
    return verify(token);
  }

  /**
   * Verifies a raw compact token; {@code null} or blank is {@link #REJECT_TOKEN_MISSING}. An
   * unexpected failure is returned as a failed stage, never thrown.
   */
  public CompletionStage<AuthResult> verify(String token) {
    try {
      return verifier.verify(token);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The token of a {@code Bearer} header (scheme case-insensitive), or {@code null}. */
  private static String bearerToken(String authorization) {
    if (authorization == null) {
      return null;
    }
    String value = authorization.strip();
    if (value.length() <= BEARER.length() || !value.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)
        || !Character.isWhitespace(value.charAt(BEARER.length()))) {
      return null;
    }
    String token = value.substring(BEARER.length()).strip();
    return token.isEmpty() ? null : token;
  }

  /** The configuration, without key material. */
  @Override
  public String toString() {
    return "JwtAuthenticator{" + description + "}";
  }

  /**
   * Builds a {@link JwtAuthenticator}. Not thread-safe; setters validate their argument at once. Key
   * sources combine: a token is checked against every key whose type, algorithm and {@code kid} fit.
   */
  public static final class Builder {

    /** The shortest HMAC secret accepted: 256 bits, as RFC 7518 requires for HS256. */
    private static final int MIN_SECRET_BYTES = 32;

    private byte[] hmacSecret;
    private RSAPublicKey rsaPublicKey;
    private ECPublicKey ecPublicKey;
    private Path jwksFile;
    private URI jwksUri;
    private Duration jwksRefreshMinInterval = DEFAULT_JWKS_REFRESH_MIN_INTERVAL;
    private Duration jwksRefreshInterval = DEFAULT_JWKS_REFRESH_INTERVAL;
    private Duration jwksMinMaxAge = DEFAULT_JWKS_MIN_MAX_AGE;
    private Duration jwksMaxMaxAge = DEFAULT_JWKS_MAX_MAX_AGE;
    private Duration jwksFetchTimeout = DEFAULT_JWKS_FETCH_TIMEOUT;
    private String issuer;
    private String audience;
    private boolean anyAudience;
    private boolean requireExpiration = true;
    private final Set<String> allowedTypes = new LinkedHashSet<>(JwtVerifier.STANDARD_TYPES);
    private Duration clockSkew = DEFAULT_CLOCK_SKEW;
    private String userIdClaim = DEFAULT_USER_ID_CLAIM;
    private String queryParameter = DEFAULT_QUERY_PARAMETER;
    private Clock clock = Clock.systemUTC();
    private HttpClient httpClient;

    private Builder() {}

    /**
     * An HMAC secret for HS256, and for HS384/HS512 if it is at least 48/64 bytes long. Copied.
     *
     * @throws IllegalArgumentException if shorter than 32 bytes
     */
    public Builder hmacSecret(byte[] secret) {
      Objects.requireNonNull(secret, "hmacSecret");
      if (secret.length < MIN_SECRET_BYTES) {
        throw new IllegalArgumentException(
            "hmacSecret: " + secret.length + " bytes (expected: >= " + MIN_SECRET_BYTES + ")");
      }
      this.hmacSecret = secret.clone();
      return this;
    }

    /** An RSA public key for RS256/RS384/RS512 and PS256/PS384/PS512 tokens. */
    public Builder rsaPublicKey(RSAPublicKey key) {
      this.rsaPublicKey = Objects.requireNonNull(key, "rsaPublicKey");
      return this;
    }

    /** An EC public key for tokens of its curve's algorithm (ES256 for P-256). */
    public Builder ecPublicKey(ECPublicKey key) {
      this.ecPublicKey = Objects.requireNonNull(key, "ecPublicKey");
      return this;
    }

    /**
     * A JWK set JSON file, read once by {@link #build()}. Keys are selected by the token's {@code kid};
     * symmetric ({@code oct}) keys are allowed here, as the file is local configuration. Requires an
     * {@link #audience} or {@link #allowAnyAudience()}.
     */
    public Builder jwksFile(Path file) {
      this.jwksFile = Objects.requireNonNull(file, "jwksFile");
      return this;
    }

    /**
     * An http(s) URL serving the issuer's JWK set. Fetched asynchronously on first use; a token whose
     * {@code kid} is unknown triggers one refresh, shared by concurrent callers and at most one per
     * {@link #jwksRefreshMinInterval}. The set is also refreshed in the background once its {@code
     * Cache-Control: max-age} (within {@link #jwksMaxAgeBounds}) or {@link #jwksRefreshInterval} has
     * passed, so withdrawn keys stop verifying. Only RSA and EC public keys are taken from it. Requires
     * an {@link #audience} or {@link #allowAnyAudience()}.
     */
    public Builder jwksUri(URI uri) {
      Objects.requireNonNull(uri, "jwksUri");
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https")) {
        throw new IllegalArgumentException("jwksUri: " + uri + " (expected: http or https)");
      }
      this.jwksUri = uri;
      return this;
    }

    /**
     * The least time between two JWK set fetches, failed or not. Default {@code PT30S} ({@link
     * #DEFAULT_JWKS_REFRESH_MIN_INTERVAL}).
     */
    public Builder jwksRefreshMinInterval(Duration interval) {
      this.jwksRefreshMinInterval = positive(interval, "jwksRefreshMinInterval");
      return this;
    }

    /**
     * The time after which a fetched JWK set without {@code Cache-Control: max-age} is fetched again.
     * Default {@code PT10M} ({@link #DEFAULT_JWKS_REFRESH_INTERVAL}); must lie within {@link
     * #jwksMaxAgeBounds}.
     */
    public Builder jwksRefreshInterval(Duration interval) {
      this.jwksRefreshInterval = positive(interval, "jwksRefreshInterval");
      return this;
    }

    /**
     * Bounds on the {@code Cache-Control: max-age} of a JWK set response: a shorter one (or {@code
     * no-cache}, {@code no-store}) is raised to {@code min}, a longer one lowered to {@code max}.
     * Defaults {@code PT1M} and {@code PT24H} ({@link #DEFAULT_JWKS_MIN_MAX_AGE}, {@link
     * #DEFAULT_JWKS_MAX_MAX_AGE}).
     */
    public Builder jwksMaxAgeBounds(Duration min, Duration max) {
      positive(min, "jwksMaxAgeBounds min");
      positive(max, "jwksMaxAgeBounds max");
      if (min.compareTo(max) > 0) {
        throw new IllegalArgumentException(
            "jwksMaxAgeBounds: min " + min + " > max " + max + " (expected: 0 < min <= max)");
      }
      this.jwksMinMaxAge = min;
      this.jwksMaxMaxAge = max;
      return this;
    }

    /**
     * The deadline of one whole JWK set fetch: connection, headers and body. A server that stalls
     * fails the fetch then ({@link #REJECT_JWKS_UNAVAILABLE} while no keys were ever fetched; the old
     * keys stay in use otherwise). Default {@code PT10S} ({@link #DEFAULT_JWKS_FETCH_TIMEOUT}).
     */
    public Builder jwksFetchTimeout(Duration timeout) {
      this.jwksFetchTimeout = positive(timeout, "jwksFetchTimeout");
      return this;
    }

    /** The required {@code iss}. Default: not checked. */
    public Builder issuer(String issuer) {
      this.issuer = nonEmpty(issuer, "issuer");
      return this;
    }

    /**
     * A value the token's {@code aud} must contain. Default: not checked for an HMAC secret or a
     * single public key; required with a JWK set ({@link #jwksUri}, {@link #jwksFile}) unless {@link
     * #allowAnyAudience()}.
     */
    public Builder audience(String audience) {
      this.audience = nonEmpty(audience, "audience");
      return this;
    }

    /**
     * Accepts tokens whatever their {@code aud}, with a JWK set too. Only for an identity provider that
     * issues tokens for this application alone: otherwise every other application's users log in.
     */
    public Builder allowAnyAudience() {
      this.anyAudience = true;
      return this;
    }

    /**
     * Accepts tokens without {@code exp}, which then never expire (the connection is never closed for
     * expiry). Default: such tokens are {@link #REJECT_MISSING_EXPIRATION}.
     */
    public Builder allowMissingExpiration() {
      this.requireExpiration = false;
      return this;
    }

    /**
     * One more accepted {@code typ} header value besides {@code JWT} and {@code at+jwt} (compared
     * case-insensitively, with or without {@code application/}). A token without {@code typ} is always
     * accepted; one with another value is {@link #REJECT_INVALID_TYPE}.
     */
    public Builder allowedTokenType(String type) {
      this.allowedTypes.add(JwtVerifier.normalizeType(nonEmpty(type, "allowedTokenType")));
      return this;
    }

    /** Leeway for {@code exp} and {@code nbf}. Default {@code PT1M} ({@link #DEFAULT_CLOCK_SKEW}). */
    public Builder clockSkew(Duration skew) {
      Objects.requireNonNull(skew, "clockSkew");
      if (skew.isNegative()) {
        throw new IllegalArgumentException("clockSkew: " + skew + " (expected: >= 0)");
      }
      this.clockSkew = skew;
      return this;
    }

    /** The claim holding the user id. Default {@value #DEFAULT_USER_ID_CLAIM}. */
    public Builder userIdClaim(String claim) {
      this.userIdClaim = nonEmpty(claim, "userIdClaim");
      return this;
    }

    /** The query parameter read when there is no Bearer header. Default {@value #DEFAULT_QUERY_PARAMETER}. */
    public Builder queryParameter(String name) {
      this.queryParameter = nonEmpty(name, "queryParameter");
      return this;
    }

    /** The clock for {@code exp}, {@code nbf} and the JWK refresh interval. Default: system UTC. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The client for {@link #jwksUri}. Default: a new client with a 10 s connect timeout that follows
     * same-protocol-or-safer redirects. Each fetch is bounded by {@link #jwksFetchTimeout} in any case.
     */
    public Builder httpClient(HttpClient client) {
      this.httpClient = Objects.requireNonNull(client, "httpClient");
      return this;
    }

    /**
     * Builds the authenticator; reads {@link #jwksFile} if set.
     *
     * @throws IllegalStateException if no key source was set, if a JWK set has neither an audience nor
     *     {@link #allowAnyAudience()}, or if settings contradict each other
     * @throws UncheckedIOException if the JWK set file cannot be read
     * @throws IllegalArgumentException if the JWK set file is not a JWK set with a usable key
     */
    public JwtAuthenticator build() {
      if (hmacSecret == null && rsaPublicKey == null && ecPublicKey == null && jwksFile == null && jwksUri == null) {
        throw new IllegalStateException(
            "no key source: set one of hmacSecret, rsaPublicKey, ecPublicKey, jwksFile, jwksUri");
      }
      if (anyAudience && audience != null) {
        throw new IllegalStateException(
            "allowAnyAudience: set together with audience " + audience + " (expected: one of them)");
      }
      if ((jwksUri != null || jwksFile != null) && audience == null && !anyAudience) {
        throw new IllegalStateException("audience: not set (expected: an audience when keys come from a JWK set, "
            + "whose identity provider also signs tokens for other applications; or call allowAnyAudience() to "
            + "accept any)");
      }
      if (jwksRefreshInterval.compareTo(jwksMinMaxAge) < 0 || jwksRefreshInterval.compareTo(jwksMaxMaxAge) > 0) {
        throw new IllegalStateException("jwksRefreshInterval: " + jwksRefreshInterval
            + " (expected: within jwksMaxAgeBounds " + jwksMinMaxAge + ".." + jwksMaxMaxAge + ")");
      }
      List<VerificationKey> keys = new ArrayList<>();
      if (hmacSecret != null) {
        keys.add(VerificationKey.hmac(hmacSecret, null, "hmacSecret"));
      }
      if (rsaPublicKey != null) {
        keys.add(VerificationKey.rsa(rsaPublicKey, null, "rsaPublicKey"));
      }
      if (ecPublicKey != null) {
        keys.add(VerificationKey.ec(ecPublicKey, null, "ecPublicKey"));
      }
      if (jwksFile != null) {
        keys.addAll(readJwksFile(jwksFile));
      }
      RemoteJwks remote = null;
      if (jwksUri != null) {
        HttpClient client = httpClient != null ? httpClient
            : HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        remote = new RemoteJwks(jwksUri, client, clock, new RemoteJwks.Settings(jwksRefreshMinInterval,
            jwksRefreshInterval, jwksMinMaxAge, jwksMaxMaxAge, jwksFetchTimeout));
      }
      JwtVerifier.Rules rules = new JwtVerifier.Rules(issuer, audience, requireExpiration, allowedTypes, clockSkew,
          userIdClaim);
      JwtVerifier verifier = new JwtVerifier(keys, remote, rules, clock);
      String description = verifier + ", jwksRefreshMinInterval=" + jwksRefreshMinInterval
          + ", jwksRefreshInterval=" + jwksRefreshInterval + ", jwksMaxAgeBounds=" + jwksMinMaxAge + ".."
          + jwksMaxMaxAge + ", jwksFetchTimeout=" + jwksFetchTimeout + ", queryParameter=" + queryParameter
          + ", clock=" + clock;
      return new JwtAuthenticator(verifier, queryParameter, description);
    }

    private static List<VerificationKey> readJwksFile(Path file) {
      String json;
      try {
        json = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("jwksFile: cannot read " + file, e);
      }
      List<VerificationKey> keys;
      try {
        keys = VerificationKey.fromJwkSet(JWKSet.parse(json), true, "jwksFile " + file.getFileName());
      } catch (ParseException | JOSEException e) {
        throw new IllegalArgumentException("jwksFile: " + file + " is not a JWK set: " + e.getMessage(), e);
      }
      if (keys.isEmpty()) {
        throw new IllegalArgumentException("jwksFile: " + file + " has no signature verification key");
      }
      return keys;
    }

    private static Duration positive(Duration value, String name) {
      Objects.requireNonNull(value, name);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
      return value;
    }

    private static String nonEmpty(String value, String name) {
      Objects.requireNonNull(value, name);
      if (value.isEmpty()) {
        throw new IllegalArgumentException(name + ": empty (expected: non-empty)");
      }
      return value;
    }
  }
}
