/** The gateway engine and Netty handlers; not exported. */
package io.wsgateway.netty.internal;
