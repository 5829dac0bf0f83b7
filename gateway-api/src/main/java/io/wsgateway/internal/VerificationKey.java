package io.wsgateway.internal;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.crypto.impl.MACProvider;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One key a JWS signature may be checked with: its optional key id, the algorithms it may verify, and
 * a ready nimbus verifier. Immutable; the nimbus verifiers keep no per-call state, so one instance
 * serves all threads.
 *
 * @param kid the key id, or {@code null} for a key configured without one (it then matches any token)
 * @param algorithms the JWS algorithms this key accepts; a token with another {@code alg} is never
 *     checked against it (this is what stops HS-vs-RSA algorithm confusion)
 * @param description for messages and logs; never contains key material
 */
public record VerificationKey(String kid, Set<JWSAlgorithm> algorithms, JWSVerifier verifier, String description) {

  public VerificationKey {
    algorithms = Set.copyOf(algorithms);
    Objects.requireNonNull(verifier, "verifier");
    Objects.requireNonNull(description, "description");
  }

  /** Whether this key may be used for a token whose header names {@code tokenKid} (may be null). */
  public boolean matchesKid(String tokenKid) {
    return kid == null || tokenKid == null || kid.equals(tokenKid);
  }

  /** An HMAC secret; HS384 and HS512 are accepted only if the secret is as long as their hash. */
  public static VerificationKey hmac(byte[] secret, String kid, String description) {
    try {
      Set<JWSAlgorithm> algs = MACProvider.getCompatibleAlgorithms(secret.length * 8);
      return new VerificationKey(kid, algs, new MACVerifier(secret), description);
    } catch (JOSEException e) {
      throw new IllegalArgumentException(description + ": " + e.getMessage(), e);
    }
  }

  /** An RSA public key: RS256/384/512 and PS256/384/512. */
  public static VerificationKey rsa(RSAPublicKey key, String kid, String description) {
    return new VerificationKey(kid, RSASSAVerifier.SUPPORTED_ALGORITHMS, new RSASSAVerifier(key), description);
  }

  /** An EC public key: the one ES algorithm of its curve (ES256 for P-256). */
  public static VerificationKey ec(ECPublicKey key, String kid, String description) {
    try {
      ECDSAVerifier verifier = new ECDSAVerifier(key);
      return new VerificationKey(kid, verifier.supportedJWSAlgorithms(), verifier, description);
    } catch (JOSEException e) {
      throw new IllegalArgumentException(description + ": " + e.getMessage(), e);
    }
  }

  /**
   * The signature verification keys of a JWK set. Encryption keys and key types we cannot verify with
   * are skipped; a key's own {@code alg} narrows what it accepts.
   *
   * @param allowSecrets whether symmetric ({@code oct}) keys are taken; false for sets fetched over
   *     the network, where a published secret is a misconfiguration, not a key
   */
  public static List<VerificationKey> fromJwkSet(JWKSet set, boolean allowSecrets, String source)
      throws JOSEException {
    List<VerificationKey> keys = new ArrayList<>();
    for (JWK jwk : set.getKeys()) {
      if (KeyUse.ENCRYPTION.equals(jwk.getKeyUse())) {
        continue;
      }
      String description = source + (jwk.getKeyID() == null ? "" : " kid=" + jwk.getKeyID());
      VerificationKey key;
      if (jwk instanceof RSAKey rsa) {
        key = rsa(rsa.toRSAPublicKey(), jwk.getKeyID(), description);
      } else if (jwk instanceof ECKey ec) {
        key = ec(ec.toECPublicKey(), jwk.getKeyID(), description);
      } else if (jwk instanceof OctetSequenceKey oct && allowSecrets) {
        key = hmac(oct.toByteArray(), jwk.getKeyID(), description);
      } else {
        continue;
      }
      if (jwk.getAlgorithm() != null) {
        JWSAlgorithm declared = JWSAlgorithm.parse(jwk.getAlgorithm().getName());
        Set<JWSAlgorithm> narrowed = key.algorithms().contains(declared) ? Set.of(declared) : Collections.emptySet();
        key = new VerificationKey(key.kid(), narrowed, key.verifier(), key.description());
      }
      keys.add(key);
    }
    return List.copyOf(keys);
  }

  @Override
  public String toString() {
    return description;
  }
}
