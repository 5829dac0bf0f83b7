/**
 * The compatibility kit of the {@link io.wsgateway.recovery.RecoveryStore} SPI: start at {@link
 * io.wsgateway.testkit.recovery.RecoveryStoreCompatibilityKit}.
 */
package io.wsgateway.testkit.recovery;
