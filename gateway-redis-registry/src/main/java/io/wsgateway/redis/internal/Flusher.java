package io.wsgateway.redis.internal;

import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Coalesces flushes of the shared connection: commands issued by any thread until the pending
 * flush runs leave in one write (one syscall for us, one read for Redis).
 *
 * <p>Why: with Lettuce's auto-flush every command is its own write and flush, from whichever thread
 * issued it; at a hundred thousand commands a second the syscalls on both sides, not Redis's work,
 * set the limit. Auto-flush is therefore off on the registry's connection and every command goes
 * through {@link #wrap}, which schedules one flush after it on a Lettuce computation thread. Netty's
 * FlushConsolidationHandler does the same inside a pipeline, which Lettuce does not let us extend.
 */
final class Flusher {

  private final StatefulConnection<?, ?> connection;
  private final Executor executor;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final Runnable flush;

  Flusher(StatefulConnection<?, ?> connection, Executor executor) {
    this.connection = connection;
    this.executor = executor;
    this.flush = () -> {
      // Cleared before the flush: a command buffered after this point schedules the next one.
      scheduled.set(false);
      connection.flushCommands();
    };
  }

  void flushSoon() {
    if (!scheduled.get() && scheduled.compareAndSet(false, true)) {
      try {
        executor.execute(flush);
      } catch (RuntimeException e) {
        // The executor is shutting down with the client: nothing left to flush to.
        scheduled.set(false);
      }
    }
  }

  /** {@code commands}, with a {@link #flushSoon()} after every command it issues. */
  @SuppressWarnings("unchecked")
  <K, V> RedisClusterAsyncCommands<K, V> wrap(RedisClusterAsyncCommands<K, V> commands) {
    return (RedisClusterAsyncCommands<K, V>) Proxy.newProxyInstance(
        Flusher.class.getClassLoader(),
        new Class<?>[] {RedisClusterAsyncCommands.class},
        (proxy, method, args) -> {
          if (method.getDeclaringClass() == Object.class) {
            return method.invoke(commands, args);
          }
          try {
            return method.invoke(commands, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          } finally {
            flushSoon();
          }
        });
  }
}
