package io.wsgateway.testkit.recovery;

import io.wsgateway.recovery.InMemoryRecoveryStore;
import io.wsgateway.recovery.RecoveryStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.DisplayName;

// Here rather than in gateway-api: gateway-testkit depends on gateway-api, so gateway-api's tests
// cannot extend the kit. The embedded default is checked from outside, like any third party's.
@DisplayName("InMemoryRecoveryStore passes the RecoveryStore compatibility kit")
class InMemoryRecoveryStoreTest extends RecoveryStoreCompatibilityKit {

  private final MutableClock clock = new MutableClock();

  @Override
  protected RecoveryStore newStore(Limits limits) {
    return InMemoryRecoveryStore.builder()
        .window(limits.window())
        .maxMessages(limits.maxMessages())
        .maxBytes(limits.maxBytes())
        .maxSessionsPerUser(limits.maxSessionsPerUser())
        .topicMaxMessages(limits.topicMaxMessages())
        .topicHistoryTtl(limits.topicHistoryTtl())
        .clock(clock)
        .build();
  }

  @Override
  protected void elapse(RecoveryStore store, Duration duration) {
    // Expiry reads the injected clock: moving it is instant and exact.
    clock.advance(duration);
  }

  /** A clock that stands still until a rule moves it. */
  private static final class MutableClock extends Clock {
    private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException("withZone");
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
