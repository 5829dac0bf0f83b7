/** Benchmarks of the connection registries (in-memory and Redis). */
package io.wsgateway.benchmarks.registry;
