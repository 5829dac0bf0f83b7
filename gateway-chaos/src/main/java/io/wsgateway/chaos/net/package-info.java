/**
 * The clients' network as the harness controls it: {@link io.wsgateway.chaos.net.ClientProxy}, one TCP
 * proxy per client in front of the load balancer, which can stall, reset or close its connections and
 * inject a reconnect hint.
 */
package io.wsgateway.chaos.net;
