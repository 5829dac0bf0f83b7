/**
 * Session recovery: the store that keeps each session's recent messages so a client that
 * reconnects, to any instance, resumes without a gap.
 *
 * <p>Start at {@link io.wsgateway.recovery.RecoveryStore}; {@link
 * io.wsgateway.recovery.InMemoryRecoveryStore} is the embedded implementation.
 */
package io.wsgateway.recovery;
