/**
 * The checker: {@link io.wsgateway.chaos.check.Checker} reads a history and reports, per stream kind,
 * acknowledged messages never delivered, duplicates, reorderings and misdeliveries
 * ({@link io.wsgateway.chaos.check.CheckReport}). Pure logic, unit-tested over synthetic histories.
 */
package io.wsgateway.chaos.check;
