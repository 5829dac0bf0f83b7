/** Baselines the gateway is measured against: what bare Netty does with the same work. */
package io.wsgateway.benchmarks.baseline;
