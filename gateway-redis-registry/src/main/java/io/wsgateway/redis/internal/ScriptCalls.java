package io.wsgateway.redis.internal;

import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** Script calls on the store's one connection (first cut: NOSCRIPT retried per call by EVAL). */
final class ScriptCalls {

  private final RedisAsyncCommands<byte[], byte[]> redis;
  private final Flusher flusher;
  private volatile boolean closed;

  ScriptCalls(RedisAsyncCommands<byte[], byte[]> redis, Flusher flusher, int maxQueued) {
    this.redis = redis;
    this.flusher = flusher;
  }

  <T> CompletableFuture<T> call(RecoveryScripts.Script script, byte[][] keys, byte[][] args,
      Function<List<Object>, T> decode) {
    CompletableFuture<T> out = new CompletableFuture<>();
    if (closed) {
      out.completeExceptionally(RedisRecoveryStoreImpl.unavailable("closed", null));
      return out;
    }
    try {
      RedisFuture<List<Object>> f = redis.evalsha(script.sha, ScriptOutputType.MULTI, keys, args);
      f.whenComplete((v, e) -> {
        if (e != null && String.valueOf(e.getMessage()).contains("NOSCRIPT")) {
          redis.<List<Object>>eval(script.body, ScriptOutputType.MULTI, keys, args)
              .whenComplete((v2, e2) -> complete(out, v2, e2, decode));
          flusher.flushSoon();
        } else {
          complete(out, v, e, decode);
        }
      });
    } catch (RuntimeException e) {
      out.completeExceptionally(RedisRecoveryStoreImpl.translate(e));
    }
    flusher.flushSoon();
    return out;
  }

  private static <T> void complete(CompletableFuture<T> out, List<Object> v, Throwable e,
      Function<List<Object>, T> decode) {
    if (e != null) {
      out.completeExceptionally(RedisRecoveryStoreImpl.translate(e));
      return;
    }
    T result;
    try {
      result = decode.apply(v);
    } catch (RuntimeException ex) {
      out.completeExceptionally(new GatewayException(ErrorCodes.STORE_UNAVAILABLE,
          "recovery store unavailable: unexpected reply from Redis: " + ex, ex));
      return;
    }
    out.complete(result);
  }

  long reloads() {
    return 0;
  }

  void close() {
    closed = true;
  }
}
