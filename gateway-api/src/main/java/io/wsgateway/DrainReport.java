package io.wsgateway;

import java.time.Duration;

/**
 * What a drain did.
 *
 * @param connectionsAtStart connections held when the drain began
 * @param leftAfterHint connections that closed by themselves after their reconnect hint
 * @param closedAtDeadline connections still open at the deadline, closed with 1001
 * @param messagesDeliveredWhileDraining message frames written to clients during the drain
 * @param duration from the start of the drain until the last connection was gone
 */
public record DrainReport(int connectionsAtStart, int leftAfterHint, int closedAtDeadline,
    long messagesDeliveredWhileDraining, Duration duration) {}
