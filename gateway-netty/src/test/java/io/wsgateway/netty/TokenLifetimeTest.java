package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.CloseCodes;
import io.wsgateway.ErrorCodes;
import io.wsgateway.auth.JwtTokens;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.TestClient;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@DisplayName("Token lifetime on an open connection")
class TokenLifetimeTest {

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create();

  private TestClient connectExpiringIn(String user, Duration lifetime) {
    // JWT exp has whole-second precision, and the default clock skew is 60 s: the token must
    // already be 'expired' by less than the skew to be accepted, so it expires lifetime from now.
    String token = JwtTokens.hs256(gateway.secret(), user, Map.of(), Instant.now().plus(lifetime));
    return gateway.track(TestClient.connect(gateway.uri(token)));
  }

  @Test
  @DisplayName("a connection whose token expires without a refresh is closed with 4001 token expired")
  void expiry() {
    TestClient client = connectExpiringIn("short", Duration.ofSeconds(2));
    long expiresAt = client.welcome().path("expires_at").asLong();
    assertTrue(expiresAt > System.currentTimeMillis() - 1000);
    assertEquals(CloseCodes.TOKEN_EXPIRED, client.awaitClose());
    assertEquals(CloseCodes.REASON_TOKEN_EXPIRED, client.closeReason());
  }

  @Test
  @DisplayName("a refresh with a fresh token for the same user extends the connection; another user's token is refused")
  void refresh() throws Exception {
    TestClient client = connectExpiringIn("renewer", Duration.ofSeconds(2));
    String otherUser = JwtTokens.hs256(gateway.secret(), "someone-else", Map.of(), Instant.now().plusSeconds(600));
    JsonNode refused = client.send("{\"type\":\"refresh\",\"token\":\"" + otherUser + "\",\"id\":\"r0\"}").next("error");
    assertEquals(ErrorCodes.INVALID_TOKEN, refused.path("code").asText());
    String fresh = JwtTokens.hs256(gateway.secret(), "renewer", Map.of(), Instant.now().plusSeconds(600));
    assertEquals("r1", client.send("{\"type\":\"refresh\",\"token\":\"" + fresh + "\",\"id\":\"r1\"}").next("ack").path("id").asText());
    // Past the original expiry the connection still answers.
    assertEquals(null, client.poll(Duration.ofMillis(2500)));
    JsonNode answer = client.send("{\"type\":\"send\",\"to\":\"nobody\",\"data\":1,\"id\":\"alive\"}").next("error");
    assertEquals("alive", answer.path("id").asText());
  }
}
