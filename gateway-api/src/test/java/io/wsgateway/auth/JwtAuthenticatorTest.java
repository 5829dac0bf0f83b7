package io.wsgateway.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.wsgateway.GatewayRequest;
import io.wsgateway.Principal;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JwtAuthenticatorTest {

  private static final Instant START = Instant.parse("2030-01-01T00:00:00Z");
  /** An expiry one hour after {@link #START}, for tokens whose expiry a test does not look at. */
  private static final Instant EXP = START.plusSeconds(3600);
  private static final byte[] SECRET = "0123456789abcdef0123456789abcdef".getBytes(UTF_8);
  private static final byte[] SECRET_64 = (new String(SECRET, UTF_8) + new String(SECRET, UTF_8)).getBytes(UTF_8);

  private static RSAKey rsa1;
  private static RSAKey rsa2;
  private static RSAKey rsa3;
  private static ECKey ec1;

  private MutableClock clock;

  @BeforeAll
  static void keys() throws JOSEException {
    rsa1 = new RSAKeyGenerator(2048).keyID("r1").generate();
    rsa2 = new RSAKeyGenerator(2048).keyID("r2").generate();
    rsa3 = new RSAKeyGenerator(2048).keyID("r3").generate();
    ec1 = new ECKeyGenerator(Curve.P_256).keyID("e1").generate();
  }

  @BeforeEach
  void clock() {
    clock = new MutableClock(START);
  }

  // ---- helpers ----

  private JwtAuthenticator.Builder hmac() {
    return JwtAuthenticator.builder().hmacSecret(SECRET).clock(clock);
  }

  private JWTClaimsSet.Builder claims(String subject) {
    return new JWTClaimsSet.Builder().subject(subject).expirationTime(Date.from(START.plusSeconds(3600)));
  }

  private static String sign(JWSAlgorithm alg, JWSSigner signer, String kid, JWTClaimsSet claims) {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).build(), claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new AssertionError(e);
    }
    return jwt.serialize();
  }

  private String hs256(JWTClaimsSet claims) throws JOSEException {
    return sign(JWSAlgorithm.HS256, new MACSigner(SECRET), null, claims);
  }

  private String rs256(RSAKey key, String subject) throws JOSEException {
    return sign(JWSAlgorithm.RS256, new RSASSASigner(key), key.getKeyID(), claims(subject).build());
  }

  private static AuthResult await(CompletionStage<AuthResult> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static AuthResult verify(JwtAuthenticator auth, String token) throws Exception {
    return await(auth.verify(token));
  }

  private static void assertAccepted(String userId, AuthResult result) {
    assertTrue(result.isAccepted(), () -> "expected accepted, got " + result);
    assertEquals(userId, result.principal().userId());
  }

  private static void assertRejected(String code, AuthResult result) {
    assertFalse(result.isAccepted(), () -> "expected " + code + ", got " + result);
    assertEquals(AuthResult.STATUS_UNAUTHORIZED, result.status());
    assertEquals(code, result.code(), result::toString);
  }

  private static String b64(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(UTF_8));
  }

  @Nested
  @DisplayName("Algorithms and keys")
  class Algorithms {

    @Test
    @DisplayName("HS256, HS384 and HS512 tokens verify with a long enough secret")
    void hmacFamily() throws Exception {
      JwtAuthenticator auth = JwtAuthenticator.builder().hmacSecret(SECRET_64).clock(clock).build();
      for (JWSAlgorithm alg : List.of(JWSAlgorithm.HS256, JWSAlgorithm.HS384, JWSAlgorithm.HS512)) {
        String token = sign(alg, new MACSigner(SECRET_64), null, claims("alice").build());
        assertAccepted("alice", verify(auth, token));
      }
    }

    @Test
    @DisplayName("HS512 is refused for a 32-byte secret, which is shorter than its hash")
    void hmacSecretTooShortForAlg() throws Exception {
      String token = sign(JWSAlgorithm.HS512, new MACSigner(SECRET_64), null, claims("alice").build());
      assertRejected(JwtAuthenticator.REJECT_UNSUPPORTED_ALGORITHM, verify(hmac().build(), token));
    }

    @Test
    @DisplayName("An RS256 token verifies with the RSA public key")
    void rsaToken() throws Exception {
      JwtAuthenticator auth = JwtAuthenticator.builder().rsaPublicKey(rsa1.toRSAPublicKey()).clock(clock).build();
      AuthResult result = verify(auth, rs256(rsa1, "bob"));
      assertAccepted("bob", result);
      assertEquals(START.plusSeconds(3600), result.principal().expiresAt());
    }

    @Test
    @DisplayName("An ES256 token verifies with the EC public key")
    void es256() throws Exception {
      JwtAuthenticator auth = JwtAuthenticator.builder().ecPublicKey(ec1.toECPublicKey()).clock(clock).build();
      String token = sign(JWSAlgorithm.ES256, new ECDSASigner(ec1), null, claims("carol").build());
      assertAccepted("carol", verify(auth, token));
    }

    @Test
    @DisplayName("A token signed with another key is rejected as bad_signature")
    void badSignature() throws Exception {
      String other = sign(JWSAlgorithm.HS256, new MACSigner("another-secret-another-secret-!!".getBytes(UTF_8)), null,
          claims("alice").build());
      assertRejected(JwtAuthenticator.REJECT_BAD_SIGNATURE, verify(hmac().build(), other));

      JwtAuthenticator rsa = JwtAuthenticator.builder().rsaPublicKey(rsa1.toRSAPublicKey()).clock(clock).build();
      assertRejected(JwtAuthenticator.REJECT_BAD_SIGNATURE, verify(rsa, rs256(rsa2, "bob")));
    }

    @Test
    @DisplayName("A tampered payload is rejected as bad_signature")
    void tampered() throws Exception {
      String[] parts = hs256(claims("alice").build()).split("\\.");
      String forged = parts[0] + "." + b64("{\"sub\":\"admin\"}") + "." + parts[2];
      assertRejected(JwtAuthenticator.REJECT_BAD_SIGNATURE, verify(hmac().build(), forged));
    }

    @Test
    @DisplayName("An unsecured token (alg none) is rejected as unsupported_algorithm")
    void algNone() throws Exception {
      String token = b64("{\"alg\":\"none\"}") + "." + b64("{\"sub\":\"alice\"}") + ".";
      AuthResult result = verify(hmac().build(), token);
      assertRejected(JwtAuthenticator.REJECT_UNSUPPORTED_ALGORITHM, result);
      assertTrue(result.message().contains("alg none"), result::message);
    }

    @Test
    @DisplayName("An HS256 token keyed with the RSA public key bytes is refused before any HMAC check")
    void algorithmConfusion() throws Exception {
      byte[] publicKeyBytes = rsa1.toRSAPublicKey().getEncoded();
      String token = sign(JWSAlgorithm.HS256, new MACSigner(publicKeyBytes), null, claims("mallory").build());
      JwtAuthenticator auth = JwtAuthenticator.builder().rsaPublicKey(rsa1.toRSAPublicKey()).clock(clock).build();
      AuthResult result = verify(auth, token);
      assertRejected(JwtAuthenticator.REJECT_UNSUPPORTED_ALGORITHM, result);
      assertTrue(result.message().contains("HS256"), result::message);
    }

    @Test
    @DisplayName("An RS256 token against an HMAC-only authenticator is unsupported_algorithm")
    void rsaAgainstHmac() throws Exception {
      assertRejected(JwtAuthenticator.REJECT_UNSUPPORTED_ALGORITHM, verify(hmac().build(), rs256(rsa1, "bob")));
    }

    @Test
    @DisplayName("Garbage is token_malformed")
    void malformed() throws Exception {
      JwtAuthenticator auth = hmac().build();
      assertRejected(JwtAuthenticator.REJECT_TOKEN_MALFORMED, verify(auth, "not-a-jwt"));
      assertRejected(JwtAuthenticator.REJECT_TOKEN_MALFORMED, verify(auth, "a.b.c"));
      assertRejected(JwtAuthenticator.REJECT_TOKEN_MALFORMED, verify(auth, "x".repeat(20_000)));
    }
  }

  @Nested
  @DisplayName("Time claims, checked against the injected clock")
  class Time {

    @Test
    @DisplayName("A token past exp plus skew is token_expired")
    void expired() throws Exception {
      JwtAuthenticator auth = hmac().build();
      String token = hs256(claims("alice").expirationTime(Date.from(START)).build());
      clock.advance(JwtAuthenticator.DEFAULT_CLOCK_SKEW.plusSeconds(1));
      assertRejected(JwtAuthenticator.REJECT_TOKEN_EXPIRED, verify(auth, token));
    }

    @Test
    @DisplayName("A token expired by less than the skew is accepted")
    void expiredWithinSkew() throws Exception {
      JwtAuthenticator auth = hmac().clockSkew(Duration.ofSeconds(30)).build();
      String token = hs256(claims("alice").expirationTime(Date.from(START)).build());
      clock.advance(Duration.ofSeconds(29));
      AuthResult result = verify(auth, token);
      assertAccepted("alice", result);
      assertEquals(START, result.principal().expiresAt());
      clock.advance(Duration.ofSeconds(1));
      assertRejected(JwtAuthenticator.REJECT_TOKEN_EXPIRED, verify(auth, token));
    }

    @Test
    @DisplayName("A token before nbf minus skew is token_not_yet_valid; within the skew it is accepted")
    void notYetValid() throws Exception {
      JwtAuthenticator auth = hmac().build();
      String token = hs256(claims("alice").notBeforeTime(Date.from(START.plusSeconds(120))).build());
      assertRejected(JwtAuthenticator.REJECT_TOKEN_NOT_YET_VALID, verify(auth, token));
      clock.advance(Duration.ofSeconds(60));
      assertAccepted("alice", verify(auth, token));
    }

    @Test
    @DisplayName("A token without exp is missing_expiration: a token must not work for ever by default")
    void noExpRejected() throws Exception {
      String token = JwtTokens.hs256(SECRET, "alice", Map.of(), null);
      AuthResult result = verify(hmac().build(), token);
      assertRejected(JwtAuthenticator.REJECT_MISSING_EXPIRATION, result);
      assertEquals("token has no exp claim", result.message());
    }

    @Test
    @DisplayName("With allowMissingExpiration a token without exp is accepted and never expires")
    void noExpAllowed() throws Exception {
      String token = JwtTokens.hs256(SECRET, "alice", Map.of(), null);
      AuthResult result = verify(hmac().allowMissingExpiration().build(), token);
      assertAccepted("alice", result);
      assertNull(result.principal().expiresAt());
      String expired = JwtTokens.hs256(SECRET, "alice", Map.of(), START.minusSeconds(3600));
      assertRejected(JwtAuthenticator.REJECT_TOKEN_EXPIRED, verify(hmac().allowMissingExpiration().build(), expired));
    }
  }

  @Nested
  @DisplayName("Where the token comes from")
  class Location {

    @Test
    @DisplayName("The Authorization Bearer header is read, scheme case-insensitive")
    void header() throws Exception {
      JwtAuthenticator auth = hmac().build();
      String token = JwtTokens.hs256(SECRET, "alice", Map.of(), EXP);
      for (String scheme : List.of("Bearer", "bearer", "BEARER")) {
        GatewayRequest request = TestRequests.get().header("Authorization", scheme + " " + token).build();
        assertAccepted("alice", await(auth.authenticate(request)));
      }
    }

    @Test
    @DisplayName("The query parameter is read, by default access_token, or as configured")
    void query() throws Exception {
      String token = JwtTokens.hs256(SECRET, "alice", Map.of(), EXP);
      assertAccepted("alice", await(hmac().build().authenticate(TestRequests.get().query("access_token", token).build())));
      JwtAuthenticator custom = hmac().queryParameter("t").build();
      assertAccepted("alice", await(custom.authenticate(TestRequests.get().query("t", token).build())));
      assertRejected(JwtAuthenticator.REJECT_TOKEN_MISSING,
          await(custom.authenticate(TestRequests.get().query("access_token", token).build())));
    }

    @Test
    @DisplayName("The header wins over the query parameter")
    void headerWins() throws Exception {
      String fromHeader = JwtTokens.hs256(SECRET, "header-user", Map.of(), EXP);
      String fromQuery = JwtTokens.hs256(SECRET, "query-user", Map.of(), EXP);
      GatewayRequest request = TestRequests.get()
          .header("Authorization", "Bearer " + fromHeader)
          .query("access_token", fromQuery)
          .build();
      assertAccepted("header-user", await(hmac().build().authenticate(request)));
    }

    @Test
    @DisplayName("A non-Bearer Authorization header is ignored in favour of the query")
    void otherScheme() throws Exception {
      String token = JwtTokens.hs256(SECRET, "alice", Map.of(), EXP);
      GatewayRequest request = TestRequests.get()
          .header("Authorization", "Basic YWxpY2U6cHc=")
          .query("access_token", token)
          .build();
      assertAccepted("alice", await(hmac().build().authenticate(request)));
    }

    @Test
    @DisplayName("No token anywhere is token_missing")
    void missing() throws Exception {
      JwtAuthenticator auth = hmac().build();
      assertRejected(JwtAuthenticator.REJECT_TOKEN_MISSING, await(auth.authenticate(TestRequests.get().build())));
      assertRejected(JwtAuthenticator.REJECT_TOKEN_MISSING,
          await(auth.authenticate(TestRequests.get().header("Authorization", "Bearer   ").build())));
      assertRejected(JwtAuthenticator.REJECT_TOKEN_MISSING, verify(auth, null));
    }

    @Test
    @DisplayName("refresh verifies a token by the same rules")
    void refresh() throws Exception {
      JwtAuthenticator auth = hmac().build();
      Principal current = Principal.of("alice");
      assertAccepted("alice", await(auth.refresh(current, JwtTokens.hs256(SECRET, "alice", Map.of(), EXP))));
      String expired = JwtTokens.hs256(SECRET, "alice", Map.of(), START.minusSeconds(3600));
      assertRejected(JwtAuthenticator.REJECT_TOKEN_EXPIRED, await(auth.refresh(current, expired)));
    }
  }

  @Nested
  @DisplayName("Claim rules")
  class Claims {

    @Test
    @DisplayName("A configured issuer must match iss")
    void issuer() throws Exception {
      JwtAuthenticator auth = hmac().issuer("https://idp.example").build();
      assertAccepted("alice", verify(auth, hs256(claims("alice").issuer("https://idp.example").build())));
      assertRejected(JwtAuthenticator.REJECT_INVALID_ISSUER,
          verify(auth, hs256(claims("alice").issuer("https://evil.example").build())));
      assertRejected(JwtAuthenticator.REJECT_INVALID_ISSUER, verify(auth, hs256(claims("alice").build())));
    }

    @Test
    @DisplayName("A configured audience must be in aud, string or list")
    void audience() throws Exception {
      JwtAuthenticator auth = hmac().audience("gateway").build();
      assertAccepted("alice", verify(auth, hs256(claims("alice").audience("gateway").build())));
      assertAccepted("alice", verify(auth, hs256(claims("alice").audience(List.of("api", "gateway")).build())));
      assertRejected(JwtAuthenticator.REJECT_INVALID_AUDIENCE, verify(auth, hs256(claims("alice").audience("api").build())));
      assertRejected(JwtAuthenticator.REJECT_INVALID_AUDIENCE, verify(auth, hs256(claims("alice").build())));
    }

    @Test
    @DisplayName("The user id comes from a configured claim")
    void customUserIdClaim() throws Exception {
      JwtAuthenticator auth = hmac().userIdClaim("uid").build();
      assertAccepted("u-42", verify(auth, hs256(claims("alice").claim("uid", "u-42").build())));
      assertRejected(JwtAuthenticator.REJECT_MISSING_SUBJECT, verify(auth, hs256(claims("alice").build())));
    }

    @Test
    @DisplayName("A token without a string sub is missing_subject")
    void missingSubject() throws Exception {
      JwtAuthenticator auth = hmac().build();
      assertRejected(JwtAuthenticator.REJECT_MISSING_SUBJECT, verify(auth, hs256(claims(null).build())));
      assertRejected(JwtAuthenticator.REJECT_MISSING_SUBJECT, verify(auth, JwtTokens.hs256(SECRET, null, Map.of(), EXP)));
    }

    @Test
    @DisplayName("Claims reach the principal; a topics claim is an unmodifiable List of String")
    void topicsIsList() throws Exception {
      String token = JwtTokens.hs256(SECRET, "alice", Map.of("topics", List.of("room:*", "news")), EXP);
      Principal principal = verify(hmac().build(), token).principal();
      List<?> topics = assertInstanceOf(List.class, principal.claim("topics"));
      assertEquals(List.of("room:*", "news"), topics);
      assertEquals("alice", principal.claim("sub"));
      assertThrows(UnsupportedOperationException.class, () -> topics.clear());
      assertTrue(Authorizer.topicsClaim().maySubscribe(principal, "room:7"));
    }
  }

  @Nested
  @DisplayName("Defaults that keep other applications' tokens out")
  class StrictDefaults {

    private Path jwksFile(Path dir) throws IOException {
      return Files.writeString(dir.resolve("jwks.json"), new JWKSet(List.<JWK>of(rsa1)).toPublicJWKSet().toString());
    }

    @Test
    @DisplayName("A JWK set URL or file without an audience fails the build, naming audience and the waiver")
    void jwksNeedsAudience(@TempDir Path dir) throws Exception {
      Path file = jwksFile(dir);
      String expected = "audience: not set (expected: an audience when keys come from a JWK set, whose identity "
          + "provider also signs tokens for other applications; or call allowAnyAudience() to accept any)";
      assertEquals(expected, assertThrows(IllegalStateException.class,
          () -> JwtAuthenticator.builder().jwksUri(URI.create("https://idp.example/jwks")).build()).getMessage());
      assertEquals(expected, assertThrows(IllegalStateException.class,
          () -> JwtAuthenticator.builder().jwksFile(file).build()).getMessage());
      assertEquals(expected, assertThrows(IllegalStateException.class,
          () -> JwtAuthenticator.builder().hmacSecret(SECRET).jwksFile(file).build()).getMessage());
    }

    @Test
    @DisplayName("With a JWK set and an audience, another application's token is invalid_audience")
    void jwksWithAudience(@TempDir Path dir) throws Exception {
      JwtAuthenticator auth = JwtAuthenticator.builder().jwksFile(jwksFile(dir)).audience("gateway").clock(clock).build();
      RSASSASigner signer = new RSASSASigner(rsa1);
      assertAccepted("a", verify(auth, sign(JWSAlgorithm.RS256, signer, "r1", claims("a").audience("gateway").build())));
      assertRejected(JwtAuthenticator.REJECT_INVALID_AUDIENCE,
          verify(auth, sign(JWSAlgorithm.RS256, signer, "r1", claims("a").audience("billing").build())));
      assertRejected(JwtAuthenticator.REJECT_INVALID_AUDIENCE,
          verify(auth, sign(JWSAlgorithm.RS256, signer, "r1", claims("a").build())));
    }

    @Test
    @DisplayName("allowAnyAudience waives the requirement explicitly; combining it with audience fails the build")
    void anyAudience(@TempDir Path dir) throws Exception {
      JwtAuthenticator auth = JwtAuthenticator.builder().jwksFile(jwksFile(dir)).allowAnyAudience().clock(clock).build();
      assertAccepted("a", verify(auth, sign(JWSAlgorithm.RS256, new RSASSASigner(rsa1), "r1",
          claims("a").audience("billing").build())));
      assertTrue(auth.toString().contains("audience=<any>"), auth::toString);
      assertEquals("allowAnyAudience: set together with audience gateway (expected: one of them)",
          assertThrows(IllegalStateException.class,
              () -> JwtAuthenticator.builder().jwksFile(jwksFile(dir)).audience("gateway").allowAnyAudience().build())
              .getMessage());
    }

    @Test
    @DisplayName("An HMAC secret or a single public key needs no audience: such keys belong to this application")
    void staticKeysNeedNoAudience() throws Exception {
      assertAccepted("alice", verify(hmac().build(), hs256(claims("alice").audience("anything").build())));
      JwtAuthenticator rsa = JwtAuthenticator.builder().rsaPublicKey(rsa1.toRSAPublicKey()).clock(clock).build();
      assertAccepted("bob", verify(rsa, rs256(rsa1, "bob")));
    }

    private String typed(String typ) {
      JWSHeader.Builder header = new JWSHeader.Builder(JWSAlgorithm.HS256);
      if (typ != null) {
        header.type(new com.nimbusds.jose.JOSEObjectType(typ));
      }
      SignedJWT jwt = new SignedJWT(header.build(), claims("alice").build());
      try {
        jwt.sign(new MACSigner(SECRET));
      } catch (JOSEException e) {
        throw new AssertionError(e);
      }
      return jwt.serialize();
    }

    @Test
    @DisplayName("typ may be absent, JWT or at+jwt (any case, application/ prefix allowed)")
    void typAccepted() throws Exception {
      JwtAuthenticator auth = hmac().build();
      for (String typ : java.util.Arrays.asList(null, "JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt",
          "application/jwt")) {
        assertAccepted("alice", verify(auth, typed(typ)));
      }
    }

    @Test
    @DisplayName("Any other typ (an ID token, a DPoP proof, a logout token) is invalid_type")
    void typRejected() throws Exception {
      JwtAuthenticator auth = hmac().build();
      for (String typ : List.of("dpop+jwt", "logout+jwt", "secevent+jwt", "id_token+jwt", "JOSE")) {
        AuthResult result = verify(auth, typed(typ));
        assertRejected(JwtAuthenticator.REJECT_INVALID_TYPE, result);
        assertEquals("typ '" + typ + "' (expected: absent, JWT, at+jwt)", result.message());
      }
    }

    @Test
    @DisplayName("A configured typ is accepted as well as the standard ones")
    void typConfigured() throws Exception {
      JwtAuthenticator auth = hmac().allowedTokenType("application/gateway+jwt").build();
      assertAccepted("alice", verify(auth, typed("gateway+jwt")));
      assertAccepted("alice", verify(auth, typed("at+jwt")));
      AuthResult other = verify(auth, typed("dpop+jwt"));
      assertRejected(JwtAuthenticator.REJECT_INVALID_TYPE, other);
      assertEquals("typ 'dpop+jwt' (expected: absent, JWT, at+jwt, gateway+jwt)", other.message());
    }

    @Test
    @DisplayName("typ is judged only after the signature verifies")
    void typAfterSignature() throws Exception {
      String[] parts = typed("dpop+jwt").split("\\.");
      String forged = parts[0] + "." + parts[1] + "." + parts[2].substring(0, parts[2].length() - 4) + "AAAA";
      assertRejected(JwtAuthenticator.REJECT_BAD_SIGNATURE, verify(hmac().build(), forged));
    }
  }

  @Nested
  @DisplayName("JWK set file")
  class JwksFile {

    @Test
    @DisplayName("Of two keys in the file, the token's kid selects the one to verify with")
    void twoKeysByKid(@TempDir Path dir) throws Exception {
      Path file = dir.resolve("jwks.json");
      Files.writeString(file, new JWKSet(List.<JWK>of(rsa1, rsa2)).toPublicJWKSet().toString());
      JwtAuthenticator auth = JwtAuthenticator.builder().jwksFile(file).allowAnyAudience().clock(clock).build();
      assertAccepted("one", verify(auth, rs256(rsa1, "one")));
      assertAccepted("two", verify(auth, rs256(rsa2, "two")));
      assertRejected(JwtAuthenticator.REJECT_UNKNOWN_KEY, verify(auth, rs256(rsa3, "three")));
      String wrongKid = sign(JWSAlgorithm.RS256, new RSASSASigner(rsa2), "r1", claims("x").build());
      assertRejected(JwtAuthenticator.REJECT_BAD_SIGNATURE, verify(auth, wrongKid));
    }

    @Test
    @DisplayName("A file that cannot be read or parsed fails the build")
    void badFile(@TempDir Path dir) throws Exception {
      assertThrows(java.io.UncheckedIOException.class,
          () -> JwtAuthenticator.builder().jwksFile(dir.resolve("absent.json")).audience("gw").build());
      Path junk = Files.writeString(dir.resolve("junk.json"), "{\"nope\":1}");
      assertThrows(IllegalArgumentException.class,
          () -> JwtAuthenticator.builder().jwksFile(junk).audience("gw").build());
    }
  }

  @Nested
  @DisplayName("JWK set over HTTP")
  class JwksHttp {

    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicReference<JWKSet> served = new AtomicReference<>();
    private final AtomicReference<CountDownLatch> gate = new AtomicReference<>(new CountDownLatch(0));
    /** Holds the stalling handler until the test ends. */
    private final CountDownLatch stall = new CountDownLatch(1);
    private ExecutorService executor;
    private HttpServer server;
    private URI uri;

    @BeforeEach
    void start() throws IOException {
      executor = Executors.newCachedThreadPool();
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.setExecutor(executor);
      server.createContext("/jwks", exchange -> {
        requests.incrementAndGet();
        try {
          gate.get().await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        byte[] body = served.get().toPublicJWKSet().toString().getBytes(UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      });
      // Headers and half the body at once, then nothing until the test ends.
      server.createContext("/slow-body", exchange -> {
        byte[] body = served.get().toPublicJWKSet().toString().getBytes(UTF_8);
        exchange.sendResponseHeaders(200, body.length);
        OutputStream out = exchange.getResponseBody();
        out.write(body, 0, body.length / 2);
        out.flush();
        try {
          stall.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        exchange.close();
      });
      server.start();
      uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks");
    }

    @AfterEach
    void stop() {
      stall.countDown();
      gate.get().countDown();
      server.stop(0);
      executor.shutdownNow();
    }

    private JwtAuthenticator remote() {
      // These tests are about fetching; the audience rule has its own tests.
      return JwtAuthenticator.builder().jwksUri(uri).allowAnyAudience().clock(clock).build();
    }

    private void serve(JWK... keys) {
      served.set(new JWKSet(Arrays.asList(keys)));
    }

    @Test
    @DisplayName("Keys are fetched once and then served from the cache")
    void cached() throws Exception {
      serve(rsa1, ec1);
      JwtAuthenticator auth = remote();
      assertEquals(0, requests.get(), "no fetch at build");
      assertAccepted("a", verify(auth, rs256(rsa1, "a")));
      String es = sign(JWSAlgorithm.ES256, new ECDSASigner(ec1), "e1", claims("b").build());
      assertAccepted("b", verify(auth, es));
      CompletionStage<AuthResult> cachedStage = auth.verify(rs256(rsa1, "c"));
      assertTrue(cachedStage.toCompletableFuture().isDone(), "a cached key verifies synchronously");
      assertEquals(1, requests.get());
    }

    @Test
    @DisplayName("An unknown kid triggers one refresh; another within the interval none; after it, one more")
    void refreshRateLimited() throws Exception {
      serve(rsa1);
      JwtAuthenticator auth = remote();
      assertAccepted("a", verify(auth, rs256(rsa1, "a")));
      assertEquals(1, requests.get());

      clock.advance(JwtAuthenticator.DEFAULT_JWKS_REFRESH_MIN_INTERVAL.plusSeconds(1));
      serve(rsa1, rsa2);
      assertAccepted("b", verify(auth, rs256(rsa2, "b")));
      assertEquals(2, requests.get(), "exactly one refresh for the new kid");

      serve(rsa1, rsa2, rsa3);
      assertRejected(JwtAuthenticator.REJECT_UNKNOWN_KEY, verify(auth, rs256(rsa3, "c")));
      assertRejected(JwtAuthenticator.REJECT_UNKNOWN_KEY, verify(auth, rs256(rsa3, "c")));
      assertEquals(2, requests.get(), "no fetch within the minimum interval");

      clock.advance(JwtAuthenticator.DEFAULT_JWKS_REFRESH_MIN_INTERVAL);
      assertAccepted("c", verify(auth, rs256(rsa3, "c")));
      assertEquals(3, requests.get());
    }

    @Test
    @DisplayName("Concurrent misses share one in-flight fetch, and the caller is never blocked")
    void sharedInFlight() throws Exception {
      serve(rsa1, rsa2);
      CountDownLatch release = new CountDownLatch(1);
      gate.set(release);
      JwtAuthenticator auth = remote();
      CompletableFuture<AuthResult> first = auth.verify(rs256(rsa1, "a")).toCompletableFuture();
      CompletableFuture<AuthResult> second = auth.verify(rs256(rsa2, "b")).toCompletableFuture();
      assertFalse(first.isDone(), "the stage completes later, the caller did not wait");
      assertFalse(second.isDone());
      release.countDown();
      assertAccepted("a", await(first));
      assertAccepted("b", await(second));
      assertEquals(1, requests.get());
    }

    @Test
    @DisplayName("An HS256 token against a JWKS URL is refused without fetching")
    void hmacNotFromRemote() throws Exception {
      serve(rsa1);
      String token = JwtTokens.hs256(SECRET, "a", Map.of(), EXP);
      assertRejected(JwtAuthenticator.REJECT_UNSUPPORTED_ALGORITHM, verify(remote(), token));
      assertEquals(0, requests.get());
    }

    @Test
    @DisplayName("A JWKS server that is down gives jwks_unavailable")
    void serverDown() throws Exception {
      serve(rsa1);
      JwtAuthenticator auth = remote();
      server.stop(0);
      AuthResult result = verify(auth, rs256(rsa1, "a"));
      assertRejected(JwtAuthenticator.REJECT_JWKS_UNAVAILABLE, result);
      // Within the interval a failure is not retried.
      assertRejected(JwtAuthenticator.REJECT_JWKS_UNAVAILABLE, verify(auth, rs256(rsa1, "a")));
    }

    @Test
    @DisplayName("A key removed from the set stops verifying after the periodic refresh, with no unknown kid needed")
    void revokedKeyDropped() throws Exception {
      serve(rsa1, rsa2);
      JwtAuthenticator auth = remote();
      String token = rs256(rsa1, "a");
      assertAccepted("a", verify(auth, token));
      serve(rsa2);
      clock.advance(JwtAuthenticator.DEFAULT_JWKS_REFRESH_INTERVAL);
      // The refresh runs in the background; tokens are served from the old keys until it is done.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      AuthResult last = verify(auth, token);
      while (last.isAccepted() && System.nanoTime() < deadline) {
        java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
        last = verify(auth, token);
      }
      assertRejected(JwtAuthenticator.REJECT_UNKNOWN_KEY, last);
      assertAccepted("b", verify(auth, rs256(rsa2, "b")));
      assertEquals(2, requests.get());
    }

    @Test
    @DisplayName("A JWK set whose body stalls gives jwks_unavailable at jwksFetchTimeout instead of hanging")
    void slowBody() throws Exception {
      serve(rsa1);
      JwtAuthenticator auth = JwtAuthenticator.builder().allowAnyAudience().clock(clock)
          .jwksUri(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/slow-body"))
          .jwksFetchTimeout(Duration.ofMillis(300))
          .build();
      AuthResult result = verify(auth, rs256(rsa1, "a"));
      assertRejected(JwtAuthenticator.REJECT_JWKS_UNAVAILABLE, result);
      assertTrue(result.message().contains("no complete response within PT0.3S"), result::message);
    }

    @Test
    @DisplayName("A non-200 answer gives jwks_unavailable naming the status")
    void httpError() throws Exception {
      server.removeContext("/jwks");
      AuthResult result = verify(remote(), rs256(rsa1, "a"));
      assertRejected(JwtAuthenticator.REJECT_JWKS_UNAVAILABLE, result);
      assertTrue(result.message().contains("HTTP 404"), result::message);
    }
  }

  @Nested
  @DisplayName("Builder")
  class BuilderRules {

    @Test
    @DisplayName("A secret shorter than 32 bytes is rejected, naming the parameter")
    void shortSecret() {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> JwtAuthenticator.builder().hmacSecret(new byte[31]));
      assertEquals("hmacSecret: 31 bytes (expected: >= 32)", e.getMessage());
    }

    @Test
    @DisplayName("Negative durations and empty names are rejected with the expected shape")
    void validation() {
      JwtAuthenticator.Builder b = JwtAuthenticator.builder();
      assertEquals("clockSkew: PT-1S (expected: >= 0)",
          assertThrows(IllegalArgumentException.class, () -> b.clockSkew(Duration.ofSeconds(-1))).getMessage());
      assertEquals("jwksRefreshMinInterval: PT0S (expected: > 0)",
          assertThrows(IllegalArgumentException.class, () -> b.jwksRefreshMinInterval(Duration.ZERO)).getMessage());
      assertThrows(IllegalArgumentException.class, () -> b.userIdClaim(""));
      assertThrows(IllegalArgumentException.class, () -> b.jwksUri(URI.create("ftp://example.com/jwks")));
      assertEquals("issuer", assertThrows(NullPointerException.class, () -> b.issuer(null)).getMessage());
      assertEquals("rsaPublicKey", assertThrows(NullPointerException.class, () -> b.rsaPublicKey(null)).getMessage());
      assertEquals("allowedTokenType: empty (expected: non-empty)",
          assertThrows(IllegalArgumentException.class, () -> b.allowedTokenType("")).getMessage());
      assertEquals("jwksRefreshInterval: PT0S (expected: > 0)",
          assertThrows(IllegalArgumentException.class, () -> b.jwksRefreshInterval(Duration.ZERO)).getMessage());
      assertEquals("jwksFetchTimeout: PT-1S (expected: > 0)",
          assertThrows(IllegalArgumentException.class, () -> b.jwksFetchTimeout(Duration.ofSeconds(-1))).getMessage());
      assertEquals("jwksMaxAgeBounds: min PT2H > max PT1H (expected: 0 < min <= max)",
          assertThrows(IllegalArgumentException.class,
              () -> b.jwksMaxAgeBounds(Duration.ofHours(2), Duration.ofHours(1))).getMessage());
      assertEquals("jwksRefreshInterval: PT48H (expected: within jwksMaxAgeBounds PT1M..PT24H)",
          assertThrows(IllegalStateException.class, () -> JwtAuthenticator.builder().hmacSecret(SECRET)
              .jwksRefreshInterval(Duration.ofDays(2)).build()).getMessage());
    }

    @Test
    @DisplayName("Building without a key source fails with a clear message")
    void noKeySource() {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> JwtAuthenticator.builder().build());
      assertTrue(e.getMessage().contains("no key source"), e::getMessage);
    }

    @Test
    @DisplayName("toString shows the configuration but never the secret")
    void toStringHidesSecret() {
      String s = hmac().issuer("https://idp.example").audience("gateway").build().toString();
      assertTrue(s.contains("issuer=https://idp.example"), s);
      assertTrue(s.contains("clockSkew=PT1M"), s);
      assertTrue(s.contains("requireExpiration=true"), s);
      assertTrue(s.contains("allowedTokenTypes=[jwt, at+jwt]"), s);
      assertTrue(s.contains("jwksRefreshInterval=PT10M"), s);
      assertTrue(s.contains("jwksMaxAgeBounds=PT1M..PT24H"), s);
      assertTrue(s.contains("jwksFetchTimeout=PT10S"), s);
      assertTrue(s.contains("hmacSecret"), s);
      assertFalse(s.contains(new String(SECRET, UTF_8)), s);
    }

    @Test
    @DisplayName("Changing the builder after build does not change the authenticator")
    void immutable() throws Exception {
      JwtAuthenticator.Builder b = hmac();
      JwtAuthenticator auth = b.build();
      b.issuer("https://idp.example");
      assertAccepted("alice", verify(auth, JwtTokens.hs256(SECRET, "alice", Map.of(), EXP)));
    }
  }
}
