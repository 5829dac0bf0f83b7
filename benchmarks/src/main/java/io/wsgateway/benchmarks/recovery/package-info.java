/** Benchmarks of the recovery stores (in-memory and Redis): appends per second, memory per message. */
package io.wsgateway.benchmarks.recovery;
