/** The client's connection state machine, Netty handlers and pure protocol logic; not exported. */
package io.wsgateway.client.internal;
