/**
 * The Netty WebSocket transport and gateway engine.
 *
 * <p>Start at {@link io.wsgateway.netty.NettyGateway#builder()} with {@link
 * io.wsgateway.netty.GatewayOptions}.
 */
package io.wsgateway.netty;
