/**
 * The gateway's public API.
 *
 * <p>Start at {@link io.wsgateway.Gateway} (built by a transport module, e.g. {@code
 * NettyGateway.builder()}), {@link io.wsgateway.Connection} for a live client, {@link
 * io.wsgateway.GatewayListener} and {@link io.wsgateway.MessageHandler} for host hooks. Protocol
 * constants are in {@link io.wsgateway.CloseCodes} and {@link io.wsgateway.ErrorCodes}.
 */
package io.wsgateway;
