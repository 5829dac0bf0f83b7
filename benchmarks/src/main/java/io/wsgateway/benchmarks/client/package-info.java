/** The small Netty WebSocket client the routing benchmark and the load tool drive the gateway with. */
package io.wsgateway.benchmarks.client;
