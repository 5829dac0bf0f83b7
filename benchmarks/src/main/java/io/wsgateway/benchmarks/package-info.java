/** JMH benchmarks, mirroring the production packages; {@link io.wsgateway.benchmarks.BenchmarkBase} is their shared setup. */
package io.wsgateway.benchmarks;
