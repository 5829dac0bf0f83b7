package io.wsgateway.redis.internal;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.recovery.AppendResult;
import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.StoredMessage;
import io.wsgateway.redis.RedisRecoveryOptions;
import io.wsgateway.redis.RedisRecoveryStore;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis recovery store: one Lua script per call ({@link RecoveryScripts}) on one shared Lettuce
 * connection whose flushes are coalesced ({@link Flusher}), so concurrent calls are pipelined.
 * Commands of one connection run in the order they are written, which is how the appends of one
 * session complete in issue order.
 *
 * <p>Bytes throughout ({@link ByteArrayCodec}): frames are stored as they are, without base64. A log
 * entry is {@code u16 id length, id (UTF-8), frame}; subscriptions are a sequence of {@code u16
 * length, topic (UTF-8)}. Both need no escaping and cost two bytes per id or topic.
 */
public final class RedisRecoveryStoreImpl implements RedisRecoveryStore {

  private static final Logger log = LoggerFactory.getLogger(RedisRecoveryStoreImpl.class);
  private static final byte[] EMPTY = new byte[0];
  private static final int MAX_SHORT_STRING = 0xffff;

  private final RedisRecoveryOptions options;
  private final ClientResources resources;
  private final ExecutorService flushes;
  private final RedisClient client;
  private final StatefulRedisConnection<byte[], byte[]> connection;
  private final RedisClusterAsyncCommands<byte[], byte[]> redis;
  private final byte[] prefix;
  private final byte[] userPrefix;
  /** How long a session stays in its user's index after its last create or claim. */
  private final long indexedMillis;
  private final byte[] attachedTtlMillis;
  private final byte[] windowMillis;
  private final byte[] maxMessages;
  private final AtomicBoolean closed = new AtomicBoolean();

  private RedisRecoveryStoreImpl(
      RedisRecoveryOptions options,
      ClientResources resources,
      ExecutorService flushes,
      RedisClient client,
      StatefulRedisConnection<byte[], byte[]> connection,
      RedisClusterAsyncCommands<byte[], byte[]> redis) {
    this.options = options;
    this.resources = resources;
    this.flushes = flushes;
    this.client = client;
    this.connection = connection;
    this.redis = redis;
    this.prefix = (options.keyPrefix() + "s:{").getBytes(StandardCharsets.UTF_8);
    // "us:", not "u:": the registry's per-user hash is "u:{user}", and both share a prefix by default.
    this.userPrefix = (options.keyPrefix() + "us:{").getBytes(StandardCharsets.UTF_8);
    this.indexedMillis = options.attachedTtl().plus(options.window()).toMillis();
    this.attachedTtlMillis = ascii(options.attachedTtl().toMillis());
    this.windowMillis = ascii(options.window().toMillis());
    this.maxMessages = ascii(options.maxMessages());
  }

  /** Connects and loads the scripts, blocking up to the connect (and command) timeout. */
  public static RedisRecoveryStoreImpl connect(RedisRecoveryOptions options) {
    ClientResources resources = DefaultClientResources.builder()
        .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(2), 2, TimeUnit.MILLISECONDS))
        .build();
    ExecutorService flushes = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "wsgw-recovery-flush");
      t.setDaemon(true);
      return t;
    });
    RedisClient client = RedisClient.create(resources, RedisURI.create(options.uri()));
    // As the registry: fail fast. A command waits at most commandTimeout; while disconnected,
    // commands are rejected at once instead of piling up in Lettuce's disconnected buffer.
    client.setOptions(ClientOptions.builder()
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .requestQueueSize(options.maxPendingCommands())
        .timeoutOptions(TimeoutOptions.enabled(options.commandTimeout()))
        .socketOptions(SocketOptions.builder().connectTimeout(options.connectTimeout()).build())
        .build());
    try {
      StatefulRedisConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE);
      // Loaded while the connection still flushes each command itself (a sync call would wait
      // forever for a flush once auto-flush is off).
      for (RecoveryScripts.Script s : RecoveryScripts.ALL) {
        c.sync().scriptLoad(s.body);
      }
      c.setAutoFlushCommands(false);
      RedisRecoveryStoreImpl store = new RedisRecoveryStoreImpl(
          options, resources, flushes, client, c, new Flusher(c, flushes).wrap(c.async()));
      log.info("Redis recovery store started: {}", options);
      return store;
    } catch (RedisException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      resources.shutdown(0, 2, TimeUnit.SECONDS);
      flushes.shutdownNow();
      String uri = options.toString();
      uri = uri.substring(uri.indexOf("uri=") + 4, uri.indexOf(", keyPrefix="));
      throw new GatewayException(
          ErrorCodes.INTERNAL,
          "recovery store unavailable: cannot connect to Redis at " + uri + ": " + e.getMessage(),
          e);
    }
  }

  @Override
  public RedisRecoveryOptions options() {
    return options;
  }

  // ---- operations: one script each ----

  @Override
  public CompletionStage<Void> create(String sessionId, String userId, String owner) {
    index(sessionId, userId, true);
    return call(RecoveryScripts.CREATE, ScriptOutputType.INTEGER, sessionId,
        r -> null, utf8(userId), utf8(owner), attachedTtlMillis);
  }

  @Override
  public CompletionStage<SessionState> claim(String sessionId, String userId, String owner) {
    index(sessionId, userId, false);
    return call(RecoveryScripts.CLAIM, ScriptOutputType.MULTI, sessionId, (List<Object> r) -> {
      if (((Long) r.get(0)) == 0) {
        return SessionState.unknown();
      }
      String previous = string((byte[]) r.get(3));
      return new SessionState(
          true, (Long) r.get(1), decodeTopics((byte[]) r.get(2)), previous.isEmpty() ? null : previous);
    }, utf8(userId), utf8(owner), attachedTtlMillis);
  }

  @Override
  public CompletionStage<AppendResult> append(
      String sessionId, String owner, String messageId, byte[] message) {
    byte[] entry;
    try {
      entry = encodeEntry(messageId, message);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
    return call(RecoveryScripts.APPEND, ScriptOutputType.MULTI, sessionId, (List<Object> r) -> {
      if (((Long) r.get(0)) == 1) {
        return AppendResult.appended((Long) r.get(1));
      }
      return AppendResult.notOwner(r.size() > 1 ? string((byte[]) r.get(1)) : null);
    }, utf8(owner), entry, maxMessages, attachedTtlMillis);
  }

  @Override
  public CompletionStage<Backlog> read(String sessionId, long afterSeq) {
    return call(RecoveryScripts.READ, ScriptOutputType.MULTI, sessionId, (List<Object> r) -> {
      long flag = (Long) r.get(0);
      if (flag != 0) {
        return new Backlog(afterSeq + 1, List.of(), true);
      }
      if (r.size() == 1) {
        return new Backlog(afterSeq + 1, List.of(), false);
      }
      @SuppressWarnings("unchecked")
      List<Object> entries = (List<Object>) r.get(1);
      List<StoredMessage> messages = new ArrayList<>(entries.size());
      for (Object e : entries) {
        messages.add(decodeEntry((byte[]) e));
      }
      return new Backlog(afterSeq + 1, messages, false);
    }, ascii(afterSeq));
  }

  /**
   * Adds the session to its user's index, a sorted set scored by the time of the last create or
   * claim. It is a hint: {@link #sessionsOf} checks each session's own record. Issued on the same
   * connection just before the session's script, so it lands first; a claim of another user's
   * session indexes it there too, harmlessly (the record's user does not match).
   */
  private void index(String sessionId, String userId, boolean prune) {
    if (closed.get()) {
      return;
    }
    byte[] key = userKey(userId);
    long now = System.currentTimeMillis();
    try {
      redis.zadd(key, (double) now, utf8(sessionId)).whenComplete((n, e) -> {
        if (e != null) {
          indexFailed(userId, e);
        }
      });
      if (prune) {
        // Sessions not created or claimed for longer than any record lives: gone for sure.
        redis.zremrangebyscore(key, io.lettuce.core.Range.create(Double.NEGATIVE_INFINITY, (double) (now - indexedMillis)));
      }
      redis.pexpire(key, indexedMillis);
    } catch (RuntimeException e) {
      indexFailed(userId, e);
    }
  }

  private final AtomicLong lastIndexWarning = new AtomicLong();

  /**
   * A session missing from its user's index cannot receive messages sent while no instance holds
   * the user, so say so, at most every 10 s (an outage fails every call at once).
   */
  private void indexFailed(String userId, Throwable e) {
    long now = System.nanoTime();
    long last = lastIndexWarning.get();
    if ((last == 0 || now - last > TimeUnit.SECONDS.toNanos(10)) && lastIndexWarning.compareAndSet(last, now)) {
      log.warn("recovery store: session index of user {} not updated: {}", userId, e.toString());
    } else {
      log.debug("recovery store: session index of user {} not updated: {}", userId, e.toString());
    }
  }

  /** How many of a user's most recent sessions {@link #sessionsOf} examines. */
  private static final int MAX_SESSIONS_PER_USER = 64;

  @Override
  public CompletionStage<Map<String, String>> sessionsOf(String userId) {
    if (closed.get()) {
      return CompletableFuture.failedFuture(
          new GatewayException(ErrorCodes.INTERNAL, "recovery store unavailable: closed"));
    }
    byte[] key = userKey(userId);
    CompletableFuture<Map<String, String>> out = new CompletableFuture<>();
    try {
      redis.zrevrange(key, 0, MAX_SESSIONS_PER_USER - 1).whenComplete((members, e) -> {
        if (e != null) {
          out.completeExceptionally(translate(e));
          return;
        }
        if (members.isEmpty()) {
          out.complete(Map.of());
          return;
        }
        List<CompletableFuture<List<io.lettuce.core.KeyValue<byte[], byte[]>>>> records = new ArrayList<>();
        for (byte[] member : members) {
          records.add(redis.hmget(keys(string(member))[0], USER_FIELD, OWNER_FIELD).toCompletableFuture());
        }
        CompletableFuture.allOf(records.toArray(new CompletableFuture<?>[0])).whenComplete((v, e2) -> {
          if (e2 != null) {
            out.completeExceptionally(translate(e2));
            return;
          }
          Map<String, String> owners = new HashMap<>();
          List<byte[]> gone = new ArrayList<>();
          for (int i = 0; i < members.size(); i++) {
            List<io.lettuce.core.KeyValue<byte[], byte[]>> r = records.get(i).join();
            boolean mine = r.get(0).hasValue() && string(r.get(0).getValue()).equals(userId);
            if (mine && r.get(1).hasValue()) {
              owners.put(string(members.get(i)), string(r.get(1).getValue()));
            } else if (!r.get(0).hasValue()) {
              gone.add(members.get(i));
            }
          }
          if (!gone.isEmpty()) {
            redis.zrem(key, gone.toArray(new byte[0][]));
          }
          out.complete(owners);
        });
      });
    } catch (RuntimeException e) {
      out.completeExceptionally(translate(e));
    }
    return out;
  }

  private static final byte[] USER_FIELD = utf8("user");
  private static final byte[] OWNER_FIELD = utf8("owner");

  /** The user's session index {@code <prefix>us:{<user>}}. */
  private byte[] userKey(String userId) {
    byte[] id = utf8(userId);
    byte[] key = new byte[userPrefix.length + id.length + 1];
    System.arraycopy(userPrefix, 0, key, 0, userPrefix.length);
    System.arraycopy(id, 0, key, userPrefix.length, id.length);
    key[key.length - 1] = '}';
    return key;
  }

  @Override
  public CompletionStage<Void> subscriptions(String sessionId, String owner, Set<String> topics) {
    byte[] encoded;
    try {
      encoded = encodeTopics(topics);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
    return call(RecoveryScripts.SUBSCRIPTIONS, ScriptOutputType.INTEGER, sessionId, r -> null, utf8(owner), encoded);
  }

  @Override
  public CompletionStage<Void> detach(String sessionId, String owner) {
    return call(RecoveryScripts.DETACH, ScriptOutputType.INTEGER, sessionId,
        r -> null, utf8(owner), windowMillis);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      connection.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      resources.shutdown(0, 2, TimeUnit.SECONDS);
      flushes.shutdownNow();
    }
  }

  // ---- plumbing ----

  private <R, T> CompletableFuture<T> call(
      RecoveryScripts.Script script,
      ScriptOutputType type,
      String sessionId,
      Function<R, T> decode,
      byte[]... args) {
    if (closed.get()) {
      return CompletableFuture.failedFuture(
          new GatewayException(ErrorCodes.INTERNAL, "recovery store unavailable: closed"));
    }
    CompletableFuture<T> out = new CompletableFuture<>();
    try {
      script.<R>run(redis, type, keys(sessionId), args).whenComplete((v, e) -> {
        if (e != null) {
          out.completeExceptionally(translate(e));
          return;
        }
        try {
          out.complete(decode.apply(v));
        } catch (RuntimeException ex) {
          // A reply of an unexpected shape: another program wrote our keys.
          out.completeExceptionally(new GatewayException(
              ErrorCodes.INTERNAL, "recovery store: unexpected reply from Redis: " + ex, ex));
        }
      });
    } catch (RuntimeException e) {
      // Lettuce rejects at once when its queue is full or the store is closed.
      out.completeExceptionally(translate(e));
    }
    return out;
  }

  /** The session hash {@code <prefix>s:{<id>}} and its log {@code <prefix>s:{<id>}:log}. */
  private byte[][] keys(String sessionId) {
    byte[] id = utf8(sessionId);
    byte[] hash = new byte[prefix.length + id.length + 1];
    System.arraycopy(prefix, 0, hash, 0, prefix.length);
    System.arraycopy(id, 0, hash, prefix.length, id.length);
    hash[hash.length - 1] = '}';
    byte[] logKey = new byte[hash.length + 4];
    System.arraycopy(hash, 0, logKey, 0, hash.length);
    logKey[hash.length] = ':';
    logKey[hash.length + 1] = 'l';
    logKey[hash.length + 2] = 'o';
    logKey[hash.length + 3] = 'g';
    return new byte[][] {hash, logKey};
  }

  /**
   * Every failure of the Redis path becomes {@code internal}: Lettuce's (timeouts, connection loss,
   * rejected commands) and whatever its executors throw while shutting down.
   */
  static Throwable translate(Throwable e) {
    Throwable cause = Failures.unwrap(e);
    if (cause instanceof GatewayException) {
      return cause;
    }
    return new GatewayException(
        ErrorCodes.INTERNAL, "recovery store unavailable: " + cause.getMessage(), cause);
  }

  static byte[] encodeEntry(String id, byte[] frame) {
    byte[] idBytes = utf8(id);
    if (idBytes.length > MAX_SHORT_STRING) {
      throw new IllegalArgumentException(
          "messageId: " + idBytes.length + " bytes (expected: <= " + MAX_SHORT_STRING + ")");
    }
    return ByteBuffer.allocate(2 + idBytes.length + frame.length)
        .putShort((short) idBytes.length).put(idBytes).put(frame).array();
  }

  static StoredMessage decodeEntry(byte[] entry) {
    int idLength = ((entry[0] & 0xff) << 8) | (entry[1] & 0xff);
    String id = new String(entry, 2, idLength, StandardCharsets.UTF_8);
    byte[] frame = new byte[entry.length - 2 - idLength];
    System.arraycopy(entry, 2 + idLength, frame, 0, frame.length);
    return new StoredMessage(id, frame);
  }

  static byte[] encodeTopics(Set<String> topics) {
    if (topics.isEmpty()) {
      return EMPTY;
    }
    List<byte[]> encoded = new ArrayList<>(topics.size());
    int size = 0;
    for (String t : topics) {
      byte[] b = utf8(t);
      if (b.length > MAX_SHORT_STRING) {
        throw new IllegalArgumentException(
            "topic: " + b.length + " bytes (expected: <= " + MAX_SHORT_STRING + ")");
      }
      encoded.add(b);
      size += 2 + b.length;
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    for (byte[] b : encoded) {
      out.putShort((short) b.length).put(b);
    }
    return out.array();
  }

  static Set<String> decodeTopics(byte[] encoded) {
    Set<String> topics = new HashSet<>();
    int i = 0;
    while (i < encoded.length) {
      int length = ((encoded[i] & 0xff) << 8) | (encoded[i + 1] & 0xff);
      topics.add(new String(encoded, i + 2, length, StandardCharsets.UTF_8));
      i += 2 + length;
    }
    return topics;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String string(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static byte[] ascii(long n) {
    return Long.toString(n).getBytes(StandardCharsets.US_ASCII);
  }
}
