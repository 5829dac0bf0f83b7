/** JMH suite for direct-message routing through a real gateway on loopback. */
package io.wsgateway.benchmarks.routing;
