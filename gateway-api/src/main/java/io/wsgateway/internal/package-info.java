/** Implementation details of the API module; not exported. */
package io.wsgateway.internal;
