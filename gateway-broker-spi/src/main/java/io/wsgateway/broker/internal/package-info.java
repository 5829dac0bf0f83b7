/** Implementation of the in-process broker; not exported. */
package io.wsgateway.broker.internal;
