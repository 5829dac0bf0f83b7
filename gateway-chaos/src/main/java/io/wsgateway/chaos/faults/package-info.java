/**
 * Faults: the kinds ({@link io.wsgateway.chaos.faults.FaultKind}), the seeded schedule
 * ({@link io.wsgateway.chaos.faults.FaultPlan}) and the nemesis that carries it out against the
 * running cluster ({@link io.wsgateway.chaos.faults.Nemesis}).
 */
package io.wsgateway.chaos.faults;
