package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.TestClient;
import io.wsgateway.recovery.InMemoryRecoveryStore;
import io.wsgateway.recovery.RecoveryStore;
import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Sessions as an attacker sees them: a session id is the only thing a resume presents, so one user
 * must never get another's messages by presenting it, and one user must not be able to multiply
 * every message sent to it by leaving sessions behind.
 */
@DisplayName("Session security")
class SessionSecurityTest {

  static final RecoveryStore store = InMemoryRecoveryStore.builder().maxSessionsPerUser(4).build();

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(o -> o, b -> b.recovery(store));

  private TestClient connect(String user, String query) {
    return gateway.track(TestClient.connect(URI.create(gateway.uri(gateway.token(user)) + query)));
  }

  @Test
  @DisplayName("a user who presents another user's session id, while its owner moves, gets a new session and none of its messages")
  void guessedSessionGetsNothing() throws Exception {
    TestClient victim = connect("victim", "");
    String session = victim.welcome().path("session").asText();
    gateway.gateway().sendToUser("victim", "\"before\"").toCompletableFuture().join();
    assertEquals("before", victim.next("message").path("data").asText());
    // The victim drops (its session detached, as during a hand-over), and the attacker presents its id.
    victim.close();
    Await.until("victim gone", () -> gateway.gateway().connections().stream()
        .noneMatch(c -> c.principal().userId().equals("victim")));
    TestClient attacker = connect("mallory", "&session=" + session + "&last_seq=0");
    JsonNode welcome = attacker.welcome();
    assertFalse(welcome.path("resumed").asBoolean(true), welcome.toString());
    assertEquals("unknown_session", welcome.path("reason").asText());
    assertNotEquals(session, welcome.path("session").asText());

    gateway.gateway().sendToUser("victim", "\"while away\"").toCompletableFuture().join();
    TestClient back = connect("victim", "&session=" + session + "&last_seq=1");
    assertTrue(back.welcome().path("resumed").asBoolean(), back.welcome().toString());
    assertEquals("while away", back.next("message").path("data").asText());
    assertNull(attacker.poll(Duration.ofMillis(300)), "the attacker got a frame of the victim's session");
  }

  @Test
  @DisplayName("session and connection ids are 22 URL-safe characters and never repeat")
  void idsAreUnique() {
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      TestClient c = connect("ids-" + i, "");
      String session = c.welcome().path("session").asText();
      String connection = c.welcome().path("connection").asText();
      assertTrue(session.matches("[A-Za-z0-9_-]{22}"), session);
      assertTrue(ids.add(session) && ids.add(connection), "repeated id");
      c.close();
    }
  }

  @Test
  @DisplayName("connecting and leaving in a loop leaves at most maxSessionsPerUser sessions: a message is kept that many times, not once per loop")
  void sessionsPerUserBounded() {
    for (int i = 0; i < 20; i++) {
      TestClient c = connect("looper", "");
      c.welcome();
      c.close();
      Await.until("looper gone", () -> gateway.gateway().connections().stream()
          .noneMatch(x -> x.principal().userId().equals("looper")));
    }
    int kept = store.appendToUser("looper", "probe", "{\"type\":\"message\",\"data\":1,\"seq\":".getBytes(
        java.nio.charset.StandardCharsets.UTF_8), false).toCompletableFuture().join().sessions().size();
    assertEquals(4, kept, "sessions the store kept for the user");
  }
}
