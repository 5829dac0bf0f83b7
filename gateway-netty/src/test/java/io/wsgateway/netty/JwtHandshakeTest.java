package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.wsgateway.Gateway;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.netty.testing.RawWebSocket;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("JWT at the handshake, with RSA and EC keys")
class JwtHandshakeTest {

  static KeyPair rsa;
  static KeyPair ec;
  static Gateway rsaGateway;
  static Gateway ecGateway;

  @BeforeAll
  static void start() throws Exception {
    KeyPairGenerator rsaGen = KeyPairGenerator.getInstance("RSA");
    rsaGen.initialize(2048);
    rsa = rsaGen.generateKeyPair();
    KeyPairGenerator ecGen = KeyPairGenerator.getInstance("EC");
    ecGen.initialize(new ECGenParameterSpec("secp256r1"));
    ec = ecGen.generateKeyPair();
    rsaGateway = start(JwtAuthenticator.builder().rsaPublicKey((RSAPublicKey) rsa.getPublic()).build());
    ecGateway = start(JwtAuthenticator.builder().ecPublicKey((ECPublicKey) ec.getPublic()).build());
  }

  static Gateway start(JwtAuthenticator authenticator) {
    Gateway g = NettyGateway.builder()
        .options(GatewayOptions.builder().host("127.0.0.1").port(0).build())
        .authenticator(authenticator)
        .build();
    g.start();
    return g;
  }

  @AfterAll
  static void stop() {
    rsaGateway.close();
    ecGateway.close();
  }

  static JWTClaimsSet claims(long expOffsetSeconds, long nbfOffsetSeconds) {
    long now = System.currentTimeMillis();
    return new JWTClaimsSet.Builder().subject("alice")
        .expirationTime(new Date(now + expOffsetSeconds * 1000))
        .notBeforeTime(new Date(now + nbfOffsetSeconds * 1000)).build();
  }

  static String rs256(JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.RS256), claims);
    jwt.sign(new RSASSASigner(rsa.getPrivate()));
    return jwt.serialize();
  }

  static RawWebSocket.HttpResult handshake(Gateway g, String token) throws Exception {
    try (RawWebSocket ws = RawWebSocket.open(g.port(), "/ws?access_token=" + token, Map.of(), 0)) {
      return ws.handshake();
    }
  }

  static void assertRejected(RawWebSocket.HttpResult r, String code) {
    assertEquals(401, r.status(), r.body());
    assertTrue(r.body().contains("\"error\":\"" + code + "\""), r.body());
  }

  @Test
  @DisplayName("accepts a valid RS256 token and a valid ES256 token")
  void valid() throws Exception {
    assertEquals(101, handshake(rsaGateway, rs256(claims(600, -10))).status());
    SignedJWT es = new SignedJWT(new JWSHeader(JWSAlgorithm.ES256), claims(600, -10));
    es.sign(new ECDSASigner(ec.getPrivate(), com.nimbusds.jose.jwk.Curve.P_256));
    assertEquals(101, handshake(ecGateway, es.serialize()).status());
  }

  @Test
  @DisplayName("refuses expired and not-yet-valid tokens")
  void timeBounds() throws Exception {
    assertRejected(handshake(rsaGateway, rs256(claims(-600, -700))), JwtAuthenticator.REJECT_TOKEN_EXPIRED);
    assertRejected(handshake(rsaGateway, rs256(claims(1200, 600))), JwtAuthenticator.REJECT_TOKEN_NOT_YET_VALID);
  }

  @Test
  @DisplayName("refuses alg none")
  void algNone() throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String header = b64.encodeToString("{\"alg\":\"none\"}".getBytes());
    String payload = b64.encodeToString(("{\"sub\":\"alice\",\"exp\":" + (System.currentTimeMillis() / 1000 + 600) + "}").getBytes());
    assertRejected(handshake(rsaGateway, header + "." + payload + "."), JwtAuthenticator.REJECT_UNSUPPORTED_ALGORITHM);
  }

  @Test
  @DisplayName("refuses an HS256 token signed with the RSA public key (algorithm confusion)")
  void algorithmConfusion() throws Exception {
    SignedJWT hs = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims(600, -10));
    hs.sign(new MACSigner(rsa.getPublic().getEncoded()));
    assertRejected(handshake(rsaGateway, hs.serialize()), JwtAuthenticator.REJECT_UNSUPPORTED_ALGORITHM);
  }

  @Test
  @DisplayName("refuses an RS256 token signed by another key")
  void badSignature() throws Exception {
    KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
    gen.initialize(2048);
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.RS256), claims(600, -10));
    jwt.sign(new RSASSASigner(gen.generateKeyPair().getPrivate()));
    assertRejected(handshake(rsaGateway, jwt.serialize()), JwtAuthenticator.REJECT_BAD_SIGNATURE);
  }
}
