/**
 * The workload: numbered streams of direct messages, topic publishes and backend ingress
 * ({@link io.wsgateway.chaos.workload.Workload}), sent by {@link io.wsgateway.chaos.workload.ChaosClient}s
 * and the {@link io.wsgateway.chaos.workload.Backend}, each recording what it does and sees.
 */
package io.wsgateway.chaos.workload;
