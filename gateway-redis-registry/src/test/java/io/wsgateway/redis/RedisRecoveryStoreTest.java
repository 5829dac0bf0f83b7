package io.wsgateway.redis;

import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.testkit.recovery.RecoveryStoreCompatibilityKit;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;

@DisplayName("RedisRecoveryStore passes the RecoveryStore compatibility kit")
class RedisRecoveryStoreTest extends RecoveryStoreCompatibilityKit {

  private static RedisTestSupport support;

  @BeforeAll
  static void openSupport() {
    support = new RedisTestSupport();
  }

  @AfterAll
  static void deleteKeys() {
    support.close();
  }

  @Override
  protected RecoveryStore newStore(Limits limits) {
    return RedisRecoveryStore.create(RedisRecoveryOptions.builder()
        .uri(RedisTestSupport.URI)
        .keyPrefix(support.newStorePrefix())
        .window(limits.window())
        .maxMessages(limits.maxMessages())
        .maxBytes(limits.maxBytes())
        .maxSessionsPerUser(limits.maxSessionsPerUser())
        .topicMaxMessages(limits.topicMaxMessages())
        .topicHistoryTtl(limits.topicHistoryTtl())
        // CI shares two cores with Redis: see RedisTestSupport.testOptions.
        .commandTimeout(Duration.ofSeconds(5))
        .build());
  }

  @Override
  protected Duration window() {
    // Redis expires keys on its own clock, which a test cannot move: a short real window, which
    // the kit's elapse() waits out. Long enough that a claim right after a detach is within it
    // under CI load; each expiry rule waits about 2 s.
    return Duration.ofSeconds(1);
  }

  @Override
  protected Duration topicHistoryTtl() {
    return Duration.ofSeconds(1);
  }

  /** As a Redis restarted empty: every key of the store's prefix deleted (SCAN + DEL, never FLUSHALL). */
  @Override
  protected boolean loseEverything(RecoveryStore store) {
    support.deleteKeys(((RedisRecoveryStore) store).options().keyPrefix());
    return true;
  }
}
