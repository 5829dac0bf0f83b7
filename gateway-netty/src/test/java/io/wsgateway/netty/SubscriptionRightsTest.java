package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.wsgateway.Connection;
import io.wsgateway.ErrorCodes;
import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.GatewayExtension;
import io.wsgateway.netty.testing.TestClient;
import io.wsgateway.recovery.InMemoryRecoveryStore;
import io.wsgateway.recovery.RecoveryStore;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Issue 13 item 7: a subscription lives only as long as the client's rights to its topic. */
@DisplayName("Topic rights are checked again")
class SubscriptionRightsTest {

  static final RecoveryStore store = InMemoryRecoveryStore.create(Duration.ofSeconds(30), 1_000, Clock.systemUTC());

  @RegisterExtension
  static final GatewayExtension gateway = GatewayExtension.create(o -> o, b -> b.recovery(store));

  @AfterAll
  static void closeStore() {
    store.close();
  }

  private static void subscribe(TestClient client, String topic) {
    assertEquals("s-" + topic, client.send("{\"type\":\"subscribe\",\"topic\":\"" + topic + "\",\"id\":\"s-" + topic + "\"}")
        .next("ack").path("id").asText());
  }

  private static void assertRevoked(JsonNode error, String topic) {
    assertEquals(ErrorCodes.SUBSCRIPTION_REVOKED, error.path("code").asText(), error.toString());
    assertEquals(topic, error.path("topic").asText(), error.toString());
    assertEquals("subscription to " + topic + " revoked: not authorized", error.path("message").asText());
  }

  private static Set<String> subscriptionsOf(String user) {
    for (Connection c : gateway.gateway().connections()) {
      if (c.principal().userId().equals(user)) {
        return c.subscriptions();
      }
    }
    throw new AssertionError("no connection of " + user);
  }

  /** Publishes to the revoked topic, then to the kept one: only the kept one may arrive. */
  private static void assertOnlyKeptArrives(TestClient client, String revoked, String kept) {
    gateway.gateway().publish(revoked, "\"revoked\"").toCompletableFuture().join();
    gateway.gateway().publish(kept, "\"kept\"").toCompletableFuture().join();
    JsonNode message = client.next("message");
    assertEquals("kept", message.path("data").asText(), message.toString());
    assertEquals(kept, message.path("topic").asText());
  }

  @Test
  @DisplayName("on refresh: a topic the new token does not allow is unsubscribed with subscription_revoked, the others stay")
  void onRefresh() {
    TestClient client = gateway.track(TestClient.connect(gateway.uri(gateway.token("ann", "room:*"))));
    subscribe(client, "room:a");
    subscribe(client, "room:b");
    client.send("{\"type\":\"refresh\",\"id\":\"r1\",\"token\":\"" + gateway.token("ann", "room:a") + "\"}");
    assertRevoked(client.next("error"), "room:b");
    assertEquals("r1", client.next("ack").path("id").asText());
    assertEquals(Set.of("room:a"), subscriptionsOf("ann"));
    assertOnlyKeptArrives(client, "room:b", "room:a");
  }

  @Test
  @DisplayName("on resume: no topic comes back by itself; a resubscribe is authorized with the new token")
  void onResume() {
    TestClient first = gateway.track(TestClient.connect(gateway.uri(gateway.token("bea", "room:*"))));
    String session = first.welcome().path("session").asText();
    subscribe(first, "room:a");
    subscribe(first, "room:b");
    first.close();
    Await.until("bea's first connection gone", () -> gateway.gateway().connections().stream()
        .noneMatch(c -> c.principal().userId().equals("bea")));

    URI resume = URI.create(gateway.uri(gateway.token("bea", "room:a")) + "&session=" + session + "&last_seq=0");
    TestClient back = gateway.track(TestClient.connect(resume));
    assertTrue(back.welcome().path("resumed").asBoolean(), back.welcome().toString());
    assertEquals(Set.of(), subscriptionsOf("bea"));
    JsonNode refused = back.send("{\"type\":\"subscribe\",\"id\":\"b\",\"topic\":\"room:b\"}").next("error");
    assertEquals("not_authorized", refused.path("code").asText(), refused.toString());
    subscribe(back, "room:a");
    assertEquals(Set.of("room:a"), subscriptionsOf("bea"));
    assertOnlyKeptArrives(back, "room:b", "room:a");
  }
}
