package io.wsgateway.recovery;

import io.wsgateway.internal.InMemoryRecoveryStoreImpl;
import java.time.Clock;
import java.time.Duration;

/**
 * Factory for the embedded recovery store: sessions in this JVM's memory, shared by the gateways
 * that use it. Resumes work on any gateway of this JVM; across processes use a shared store (Redis).
 */
public final class InMemoryRecoveryStore {

  /** Default recovery window after a disconnect: 120 s. */
  public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(120);
  /** Default limit of messages kept per session: 1,000. */
  public static final int DEFAULT_MAX_MESSAGES = 1_000;

  private InMemoryRecoveryStore() {}

  /** A store with the default window and per-session limit. */
  public static RecoveryStore create() {
    return create(DEFAULT_WINDOW, DEFAULT_MAX_MESSAGES, Clock.systemUTC());
  }

  /**
   * A store keeping detached sessions for {@code window} and at most {@code maxMessages} messages per
   * session, reading time from {@code clock} (tests move it).
   */
  public static RecoveryStore create(Duration window, int maxMessages, Clock clock) {
    if (window.isNegative() || window.isZero()) {
      throw new IllegalArgumentException("window: " + window + " (expected: > 0)");
    }
    if (maxMessages <= 0) {
      throw new IllegalArgumentException("maxMessages: " + maxMessages + " (expected: > 0)");
    }
    return new InMemoryRecoveryStoreImpl(window, maxMessages, clock);
  }
}
