/**
 * The record of a chaos run: {@link io.wsgateway.chaos.history.Event}s (operations, deliveries,
 * connections, loss signals, faults) in a thread-safe {@link io.wsgateway.chaos.history.History},
 * saved as JSON lines by {@link io.wsgateway.chaos.history.HistoryFile}.
 */
package io.wsgateway.chaos.history;
