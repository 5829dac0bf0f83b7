/**
 * Implementation of the Redis registry and recovery store: key layouts, Lua scripts, the Lettuce
 * connections with their coalesced flushes ({@code Flusher}), and the store's ordered script calls
 * ({@code ScriptCalls}); not exported.
 */
package io.wsgateway.redis.internal;
