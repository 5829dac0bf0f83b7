/**
 * JMH suites mirroring the production packages, on the shared base {@link
 * io.wsgateway.benchmarks.AbstractBenchmark}, and the end-to-end load tool.
 */
package io.wsgateway.benchmarks;
