/**
 * The runnable example gateway ({@code gateway-example.jar}): start at {@link
 * io.wsgateway.examples.ExampleGateway}, configured by {@code GATEWAY_*} environment variables.
 */
package io.wsgateway.examples;
