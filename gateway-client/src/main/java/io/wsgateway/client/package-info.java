/**
 * A Java client for the gateway's default protocol: acknowledged sends, exactly-once in-order
 * delivery with session resume and topic catch-up, explicit reports of what could not be recovered,
 * reconnects with backoff, and token refresh.
 *
 * <p>Start at {@link io.wsgateway.client.GatewayClient#builder()} with {@link
 * io.wsgateway.client.ClientOptions} and a {@link io.wsgateway.client.ClientListener}. Values are
 * non-null unless their Javadoc says "or {@code null}".
 */
package io.wsgateway.client;
