package io.wsgateway.examples;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.wsgateway.GatewayRequest;
import io.wsgateway.HttpReply;
import io.wsgateway.HttpRoute;
import io.wsgateway.auth.JwtTokens;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

/**
 * {@code GET /dev/token?user=<id>}: mints a token for anyone who asks. Served in dev mode only, where
 * the secret is random and dies with the process. Thread-safe; minting is CPU-only, so it runs on the
 * I/O thread without blocking.
 */
final class DevTokenRoute implements HttpRoute {

  /** How long a minted token is valid. */
  static final Duration TOKEN_LIFETIME = Duration.ofHours(1);
  /** The topics claim of a minted token: every topic, so the chat page can use any room. */
  static final List<String> TOPICS = List.of("*");
  /** User ids the route accepts; kept narrow so ids are safe in URLs, logs and topic names. */
  static final Pattern USER_ID = Pattern.compile("[A-Za-z0-9._@-]{1,64}");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final byte[] secret;
  private final Clock clock;

  DevTokenRoute(byte[] secret, Clock clock) {
    this.secret = secret.clone();
    this.clock = clock;
  }

  @Override
  public CompletionStage<HttpReply> handle(GatewayRequest request) {
    if (!request.method().equals("GET")) {
      return done(error(405, "method_not_allowed", "use GET").withHeader("Allow", "GET"));
    }
    String user = request.queryParameter("user");
    if (user == null || user.isEmpty()) {
      return done(error(400, "missing_user", "query parameter 'user' is required"));
    }
    if (!USER_ID.matcher(user).matches()) {
      return done(error(400, "invalid_user", "user: expected 1-64 of [A-Za-z0-9._@-]"));
    }
    // JWT exp has second precision; truncating keeps expires_at equal to what the welcome frame reports.
    Instant expiresAt = clock.instant().plus(TOKEN_LIFETIME).truncatedTo(ChronoUnit.SECONDS);
    ObjectNode body = JSON.createObjectNode()
        .put("token", mint(secret, user, expiresAt))
        .put("user", user)
        .put("expires_at", expiresAt.toEpochMilli());
    return done(HttpReply.json(200, write(body)));
  }

  /** A token for {@code user}, allowed on every topic, expiring at {@code expiresAt}. */
  static String mint(byte[] secret, String user, Instant expiresAt) {
    return JwtTokens.hs256(secret, user, Map.of("topics", TOPICS), expiresAt);
  }

  static HttpReply error(int status, String code, String message) {
    return HttpReply.json(status, write(JSON.createObjectNode().put("error", code).put("message", message)));
  }

  private static String write(ObjectNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static CompletionStage<HttpReply> done(HttpReply reply) {
    return CompletableFuture.completedFuture(reply);
  }
}
