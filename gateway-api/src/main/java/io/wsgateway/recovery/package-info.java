/**
 * Recovery: the store that keeps each session's direct messages and each topic's recent
 * publications, so a client that reconnects, to any instance, continues without a gap; and that
 * decides their order.
 *
 * <p>Start at {@link io.wsgateway.recovery.RecoveryStore}; {@link
 * io.wsgateway.recovery.InMemoryRecoveryStore} is the embedded implementation.
 */
package io.wsgateway.recovery;
