/** Implementation of the Redis registry: key layout, Lua scripts, the Lettuce client; not exported. */
package io.wsgateway.redis.internal;
