package io.wsgateway.chaos.faults;

import io.wsgateway.chaos.history.History;
import java.util.List;
import java.util.Locale;

/**
 * One planned step of a fault schedule. Immutable; a pure function of the seed and the plan's
 * parameters, so that a seed replays the same schedule.
 *
 * @param index position in the schedule (time order), from 0
 * @param atMillis when to inject it, in milliseconds after traffic started
 * @param kind what to inject
 * @param slot the gateway slot (0-based) for gateway faults, else -1
 * @param slots the gateway slots whose RabbitMQ connections to close ({@link FaultKind#RABBIT_CLOSE}), else empty
 * @param clients the client indexes for client faults, else empty
 * @param durationMillis the fault's own length: downtime, pause, cut, churn spread, or time until a replacement
 * @param variant how: {@code admin}/{@code sigterm} (drain), {@code replace}/{@code none} (kill for good),
 *     {@code stall}/{@code reset}/{@code stall-reset} (cut), {@code hint}/{@code abrupt}/{@code mixed} (churn),
 *     or empty
 */
public record Fault(int index, long atMillis, FaultKind kind, int slot, List<Integer> slots, List<Integer> clients,
    long durationMillis, String variant) {

  public Fault {
    slots = List.copyOf(slots);
    clients = List.copyOf(clients);
  }

  /** One line, e.g. {@code #03 at 12.400s KILL_RESTART slot 2 for 1.800s}. */
  public String describe() {
    StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "#%02d at %s %s", index,
        History.seconds(atMillis * 1_000_000L), kind));
    if (slot >= 0) {
      b.append(" slot ").append(slot + 1);
    }
    if (!slots.isEmpty()) {
      b.append(" slots ").append(slots.stream().map(s -> s + 1).toList());
    }
    if (!clients.isEmpty()) {
      b.append(" clients ").append(clients);
    }
    if (!variant.isEmpty()) {
      b.append(' ').append(variant);
    }
    if (durationMillis > 0) {
      b.append(" for ").append(History.seconds(durationMillis * 1_000_000L));
    }
    return b.toString();
  }
}
