package io.wsgateway.benchmarks.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.wsgateway.auth.AuthResult;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.benchmarks.AbstractBenchmark;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * {@link JwtAuthenticator#verify} of a typical handshake token per algorithm, beside nimbus parsing
 * the same token without verifying it (the floor: base64 and JSON, no signature).
 */
@State(Scope.Benchmark)
public class JwtBenchmark extends AbstractBenchmark {

  @Param({"HS256", "RS256", "ES256"})
  public String alg;

  private JwtAuthenticator authenticator;
  private String token;

  @Setup
  public void setup() throws Exception {
    JWSSigner signer;
    JwtAuthenticator.Builder builder = JwtAuthenticator.builder();
    switch (alg) {
      case "HS256" -> {
        byte[] secret = "benchmark-secret-benchmark-secret-0123456789".getBytes(StandardCharsets.UTF_8);
        signer = new MACSigner(secret);
        builder.hmacSecret(secret);
      }
      case "RS256" -> {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair kp = g.generateKeyPair();
        signer = new RSASSASigner((RSAPrivateKey) kp.getPrivate());
        builder.rsaPublicKey((RSAPublicKey) kp.getPublic());
      }
      case "ES256" -> {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        signer = new ECDSASigner((ECPrivateKey) kp.getPrivate());
        builder.ecPublicKey((ECPublicKey) kp.getPublic());
      }
      default -> throw new IllegalArgumentException("alg: " + alg);
    }
    authenticator = builder.build();
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .subject("user-0001")
        .claim("topics", List.of("rooms.*", "news"))
        .issueTime(new Date())
        .expirationTime(Date.from(Instant.now().plusSeconds(24 * 3600)))
        .build();
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.parse(alg)), claims);
    jwt.sign(signer);
    token = jwt.serialize();

    AuthResult r = verify();
    check(r.isAccepted() && r.principal().userId().equals("user-0001"), alg + " token accepted: " + r);
    // A tampered signature must be rejected, or verify() could be measuring a path that checks nothing.
    String tampered = token.substring(0, token.length() - 4) + (token.endsWith("AAAA") ? "BBBB" : "AAAA");
    check(!authenticator.verify(tampered).toCompletableFuture().join().isAccepted(), alg + " tampered token rejected");
  }

  @Benchmark
  public AuthResult verify() {
    return authenticator.verify(token).toCompletableFuture().join();
  }

  /** Baseline: parse only (header, claims, base64), no signature check and no claim rules. */
  @Benchmark
  public JWTClaimsSet parseBaseline() throws Exception {
    return SignedJWT.parse(token).getJWTClaimsSet();
  }
}
