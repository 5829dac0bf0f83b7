/** JMH suites mirroring the production packages, their shared base, and the end-to-end load tool. */
package io.wsgateway.benchmarks;
