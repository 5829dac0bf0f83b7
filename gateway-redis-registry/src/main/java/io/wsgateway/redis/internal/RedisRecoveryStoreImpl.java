package io.wsgateway.redis.internal;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.recovery.Backlog;
import io.wsgateway.recovery.SessionAppend;
import io.wsgateway.recovery.SessionState;
import io.wsgateway.recovery.StoredMessage;
import io.wsgateway.recovery.TopicAppend;
import io.wsgateway.recovery.TopicBacklog;
import io.wsgateway.recovery.TopicPosition;
import io.wsgateway.recovery.UserAppend;
import io.wsgateway.redis.RedisRecoveryOptions;
import io.wsgateway.redis.RedisRecoveryStore;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis recovery store: one Lua script per call ({@link RecoveryScripts}) on one shared Lettuce
 * connection ({@link ScriptCalls}, which keeps the calls in issue order, also across a lost script
 * cache) whose flushes are coalesced ({@link Flusher}), so concurrent calls are pipelined.
 *
 * <p>Bytes throughout ({@link ByteArrayCodec}): frames are stored as they are. A log entry is
 * {@code u16 id length, id (UTF-8), frame}: no escaping, two bytes per message. Keys and entries are
 * encoded straight into one array each: an append allocates its entry, its key and argument arrays,
 * the call (which is also the caller's stage) and the result, and nothing else of its own.
 */
public final class RedisRecoveryStoreImpl implements RedisRecoveryStore {

  private static final Logger log = LoggerFactory.getLogger(RedisRecoveryStoreImpl.class);
  private static final int MAX_ID_BYTES = 0xffff;
  private static final byte[] ONE = {'1'};
  private static final byte[] ZERO = {'0'};
  private static final byte[] LOG_SUFFIX = ascii(":log");
  private static final byte[] IDS_SUFFIX = ascii(":ids");
  private static final byte[] CLOSE_TAG = ascii("}");
  private static final byte[] CLOSE_TAG_COLON = ascii("}:");
  private static final byte[][] NO_ARGS = new byte[0][];
  private static final UserAppend NO_SESSIONS = new UserAppend(List.of(), false);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final RedisRecoveryOptions options;
  private final ClientResources resources;
  private final ExecutorService flushes;
  private final RedisClient client;
  private final StatefulRedisConnection<byte[], byte[]> connection;
  private final RecoveryScripts scripts;
  private final ScriptCalls calls;
  private final byte[] indexPrefix;
  private final byte[] sessionPrefix;
  private final byte[] topicPrefix;
  private final byte[][] incarnationKey;
  private final AtomicBoolean closed = new AtomicBoolean();

  private RedisRecoveryStoreImpl(RedisRecoveryOptions options, ClientResources resources,
      ExecutorService flushes, RedisClient client, StatefulRedisConnection<byte[], byte[]> connection,
      RecoveryScripts scripts, ScriptCalls calls) {
    this.options = options;
    this.resources = resources;
    this.flushes = flushes;
    this.client = client;
    this.connection = connection;
    this.scripts = scripts;
    this.calls = calls;
    String prefix = options.keyPrefix();
    // "us:", not "u:": the registry's per-user hash is "u:{user}", and both share a prefix by default.
    this.indexPrefix = utf8(prefix + "us:{");
    this.sessionPrefix = utf8(prefix + "s:{");
    this.topicPrefix = utf8(prefix + "t:{");
    this.incarnationKey = new byte[][] {utf8(prefix + "incarnation")};
  }

  /** Connects and loads the scripts, blocking up to the connect (and command) timeout. */
  public static RedisRecoveryStoreImpl connect(RedisRecoveryOptions options) {
    Objects.requireNonNull(options, "options");
    ClientResources resources = DefaultClientResources.builder()
        .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(2), 2, TimeUnit.MILLISECONDS))
        .build();
    // One thread runs the coalesced flushes (see Flusher): a few microseconds each.
    ExecutorService flushes = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "wsgw-recovery-flush");
      t.setDaemon(true);
      return t;
    });
    RedisClient client = RedisClient.create(resources, RedisURI.create(options.uri()));
    // As the registry: fail fast. A command waits at most commandTimeout; while disconnected,
    // commands are rejected at once instead of piling up in Lettuce's disconnected buffer, and
    // commands in flight when the connection drops fail instead of being sent again (they may
    // have taken effect: retrying is the caller's decision).
    client.setOptions(ClientOptions.builder()
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .requestQueueSize(options.maxPendingCommands())
        .timeoutOptions(TimeoutOptions.enabled(options.commandTimeout()))
        .socketOptions(SocketOptions.builder().connectTimeout(options.connectTimeout()).build())
        .build());
    RecoveryScripts scripts = new RecoveryScripts(options, HexFormat.of().toHexDigits(RANDOM.nextLong()));
    try {
      StatefulRedisConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE);
      // Loaded while the connection still flushes each command itself (a sync call would wait
      // forever for a flush once auto-flush is off).
      for (RecoveryScripts.Script s : scripts.all) {
        c.sync().scriptLoad(s.body);
      }
      c.setAutoFlushCommands(false);
      ScriptCalls calls = new ScriptCalls(c.async(), new Flusher(c, flushes), flushes, scripts.all,
          options.maxPendingCommands());
      RedisRecoveryStoreImpl store = new RedisRecoveryStoreImpl(options, resources, flushes, client, c, scripts, calls);
      log.info("Redis recovery store started: {}", options);
      return store;
    } catch (RedisException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      resources.shutdown(0, 2, TimeUnit.SECONDS);
      flushes.shutdownNow();
      throw new GatewayException(ErrorCodes.STORE_UNAVAILABLE,
          "recovery store unavailable: cannot connect to Redis at "
              + options.toString().replaceFirst("^.*?uri=(.*?), keyPrefix=.*$", "$1") + ": " + e.getMessage(),
          e);
    }
  }

  @Override
  public RedisRecoveryOptions options() {
    return options;
  }

  /** How often the store reloaded its scripts after Redis lost them. For tests and metrics. */
  public long scriptReloads() {
    return calls.reloads();
  }

  // ---- sessions ----

  @Override
  public CompletionStage<SessionState> create(String userId, String sessionId, String owner) {
    Objects.requireNonNull(owner, "owner");
    if (!validSessionId(sessionId)) {
      return CompletableFuture.failedFuture(invalidSessionId(sessionId));
    }
    long epoch = newEpoch();
    return calls.call(scripts.create, sessionKeys(userId, sessionId),
        new byte[][] {utf8(sessionId), utf8(owner), decimal(epoch)},
        r -> new SessionState(true, 0, null, false, epoch));
  }

  @Override
  public CompletionStage<SessionState> claim(String userId, String sessionId, String owner) {
    Objects.requireNonNull(owner, "owner");
    if (!validSessionId(sessionId)) {
      return CompletableFuture.completedFuture(SessionState.unknown());
    }
    return calls.call(scripts.claim, sessionKeys(userId, sessionId), new byte[][] {utf8(sessionId), utf8(owner)},
        r -> {
          if ((Long) r.get(0) == 0) {
            return SessionState.unknown();
          }
          String previous = stringOrNull(r.get(2));
          return new SessionState(true, (Long) r.get(1), previous, previous != null, epoch(r.get(3)));
        });
  }

  @Override
  public CompletionStage<SessionState> restore(String userId, String sessionId, String owner, long lastSeq) {
    Objects.requireNonNull(owner, "owner");
    if (!validSessionId(sessionId)) {
      return CompletableFuture.failedFuture(invalidSessionId(sessionId));
    }
    if (lastSeq < 0) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException("lastSeq: " + lastSeq + " (expected: >= 0)"));
    }
    return calls.call(scripts.restore, sessionKeys(userId, sessionId),
        new byte[][] {utf8(sessionId), utf8(owner), decimal(lastSeq), decimal(newEpoch())},
        r -> new SessionState(true, (Long) r.get(0), null, false, epoch(r.get(1))));
  }

  @Override
  public CompletionStage<Void> detach(String userId, String sessionId, String owner) {
    Objects.requireNonNull(owner, "owner");
    if (!validSessionId(sessionId)) {
      return CompletableFuture.completedFuture(null);
    }
    byte[][] keys = sessionKeys(userId, sessionId);
    return calls.call(scripts.detach, new byte[][] {keys[0], keys[1], keys[2]}, new byte[][] {utf8(owner)}, r -> null);
  }

  @Override
  public CompletionStage<UserAppend> appendToUser(String userId, String messageId, byte[] frame, boolean dedupe) {
    byte[] entry;
    try {
      entry = entry(messageId, frame);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
    return calls.call(scripts.appendToUser, new byte[][] {key(indexPrefix, userId, CLOSE_TAG)},
        new byte[][] {entry, dedupe ? ONE : ZERO}, RedisRecoveryStoreImpl::userAppend);
  }

  private static UserAppend userAppend(List<Object> r) {
    int n = (r.size() - 1) / 4;
    boolean duplicate = (Long) r.get(0) == 1;
    if (n == 0) {
      return duplicate ? new UserAppend(List.of(), true) : NO_SESSIONS;
    }
    if (n == 1) {
      return new UserAppend(List.of(sessionAppend(r, 1)), duplicate);
    }
    SessionAppend[] sessions = new SessionAppend[n];
    for (int i = 0; i < n; i++) {
      sessions[i] = sessionAppend(r, 1 + 4 * i);
    }
    return new UserAppend(List.of(sessions), duplicate);
  }

  private static SessionAppend sessionAppend(List<Object> r, int at) {
    return new SessionAppend(string(r.get(at)), (Long) r.get(at + 1), stringOrNull(r.get(at + 2)), epoch(r.get(at + 3)));
  }

  @Override
  public CompletionStage<SessionAppend> appendToSession(String userId, String sessionId, String messageId,
      byte[] frame) {
    if (!validSessionId(sessionId)) {
      return CompletableFuture.completedFuture(null);
    }
    byte[] entry;
    try {
      entry = entry(messageId, frame);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
    return calls.call(scripts.appendToSession, sessionKeys(userId, sessionId), new byte[][] {entry},
        r -> (Long) r.get(0) == 0 ? null
            : new SessionAppend(sessionId, (Long) r.get(1), stringOrNull(r.get(2)), epoch(r.get(3))));
  }

  @Override
  public CompletionStage<Backlog> read(String userId, String sessionId, long afterSeq) {
    if (!validSessionId(sessionId)) {
      return CompletableFuture.completedFuture(Backlog.broken(afterSeq, Backlog.Status.UNKNOWN));
    }
    byte[][] keys = sessionKeys(userId, sessionId);
    return calls.call(scripts.read, new byte[][] {keys[0], keys[1]}, new byte[][] {decimal(afterSeq)},
        r -> {
          int status = (int) (long) (Long) r.get(0);
          switch (status) {
            case 0:
              return new Backlog(afterSeq + 1, r.size() > 1 ? messages(r.get(1)) : List.of(), Backlog.Status.COMPLETE);
            case 1:
              return Backlog.broken(afterSeq, Backlog.Status.TRIMMED);
            case 2:
              return Backlog.broken(afterSeq, Backlog.Status.LOST);
            case 3:
              return Backlog.broken(afterSeq, Backlog.Status.AHEAD);
            case 4:
              return Backlog.broken(afterSeq, Backlog.Status.UNKNOWN);
            default:
              throw new IllegalStateException("read status " + status);
          }
        });
  }

  // ---- topics ----

  @Override
  public CompletionStage<TopicAppend> appendToTopic(String topic, String messageId, byte[] frame, boolean dedupe) {
    byte[] entry;
    try {
      entry = entry(messageId, frame);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
    return calls.call(scripts.appendToTopic, topicKeys(topic), new byte[][] {entry, dedupe ? ONE : ZERO, decimal(newEpoch())},
        r -> new TopicAppend((Long) r.get(0), epoch(r.get(1)), (Long) r.get(2) == 1));
  }

  @Override
  public CompletionStage<TopicPosition> topicPosition(String topic) {
    byte[][] keys = {key(topicPrefix, topic, CLOSE_TAG)};
    return calls.call(scripts.topicPosition, keys, new byte[][] {decimal(newEpoch())},
        r -> new TopicPosition((Long) r.get(0), epoch(r.get(1))));
  }

  @Override
  public CompletionStage<TopicBacklog> readTopic(String topic, long afterOffset) {
    byte[][] keys = topicKeys(topic);
    return calls.call(scripts.readTopic, new byte[][] {keys[0], keys[1]}, new byte[][] {decimal(afterOffset)}, r -> {
      if (r.isEmpty()) {
        return new TopicBacklog(0, afterOffset + 1, List.of(), afterOffset > 0);
      }
      long epoch = epoch(r.get(0));
      boolean trimmed = (Long) r.get(1) == 1;
      return new TopicBacklog(epoch, afterOffset + 1, r.size() > 2 ? messages(r.get(2)) : List.of(), trimmed);
    });
  }

  // ---- the store ----

  @Override
  public CompletionStage<String> incarnation() {
    byte[] token = new byte[16];
    RANDOM.nextBytes(token);
    return calls.call(scripts.incarnation, incarnationKey, new byte[][] {ascii(HexFormat.of().formatHex(token))},
        r -> string(r.get(0)));
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    calls.close();
    try {
      connection.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      resources.shutdown(0, 2, TimeUnit.SECONDS);
      flushes.shutdownNow();
    }
  }

  // ---- keys and values ----

  /**
   * Session ids name keys ({@code ...}:<sessionId>} and {@code ...:<sessionId>:log}), so they may
   * hold no ':' or '}': with them one user's session key could spell another user's, or a log's.
   * The gateway's ids are URL-safe base64.
   */
  static boolean validSessionId(String sessionId) {
    Objects.requireNonNull(sessionId, "sessionId");
    return !sessionId.isEmpty() && sessionId.indexOf(':') < 0 && sessionId.indexOf('}') < 0;
  }

  private static IllegalArgumentException invalidSessionId(String sessionId) {
    return new IllegalArgumentException("sessionId: " + sessionId + " (expected: not empty, no ':' or '}')");
  }

  /** The session hash, its log, its recent ids and the user's index. */
  private byte[][] sessionKeys(String userId, String sessionId) {
    byte[] hash = key(sessionPrefix, userId, CLOSE_TAG_COLON, sessionId);
    return new byte[][] {hash, suffixed(hash, LOG_SUFFIX), suffixed(hash, IDS_SUFFIX), key(indexPrefix, userId, CLOSE_TAG)};
  }

  /** The topic hash, its log and its recent ids. */
  private byte[][] topicKeys(String topic) {
    byte[] hash = key(topicPrefix, topic, CLOSE_TAG);
    return new byte[][] {hash, suffixed(hash, LOG_SUFFIX), suffixed(hash, IDS_SUFFIX)};
  }

  private static byte[] suffixed(byte[] key, byte[] suffix) {
    byte[] out = new byte[key.length + suffix.length];
    System.arraycopy(key, 0, out, 0, key.length);
    System.arraycopy(suffix, 0, out, key.length, suffix.length);
    return out;
  }

  /** {@code head + utf8(name) + tail}, in one array. */
  static byte[] key(byte[] head, String name, byte[] tail) {
    return key(head, name, tail, "");
  }

  /** {@code head + utf8(name) + tail + utf8(suffix)}, in one array. */
  static byte[] key(byte[] head, String name, byte[] tail, String suffix) {
    int nameLength = Utf8.length(name);
    int suffixLength = Utf8.length(suffix);
    byte[] key = new byte[head.length + nameLength + tail.length + suffixLength];
    System.arraycopy(head, 0, key, 0, head.length);
    int at = Utf8.encode(name, key, head.length);
    System.arraycopy(tail, 0, key, at, tail.length);
    Utf8.encode(suffix, key, at + tail.length);
    return key;
  }

  /** A log entry: {@code u16 id length, id (UTF-8), frame}. */
  static byte[] entry(String messageId, byte[] frame) {
    Objects.requireNonNull(messageId, "messageId");
    Objects.requireNonNull(frame, "frame");
    int idLength = Utf8.length(messageId);
    if (idLength > MAX_ID_BYTES) {
      throw new IllegalArgumentException("messageId: " + idLength + " bytes (expected: <= " + MAX_ID_BYTES + ")");
    }
    byte[] entry = new byte[2 + idLength + frame.length];
    entry[0] = (byte) (idLength >>> 8);
    entry[1] = (byte) idLength;
    Utf8.encode(messageId, entry, 2);
    System.arraycopy(frame, 0, entry, 2 + idLength, frame.length);
    return entry;
  }

  static StoredMessage decodeEntry(byte[] entry) {
    int idLength = ((entry[0] & 0xff) << 8) | (entry[1] & 0xff);
    String id = new String(entry, 2, idLength, StandardCharsets.UTF_8);
    byte[] frame = new byte[entry.length - 2 - idLength];
    System.arraycopy(entry, 2 + idLength, frame, 0, frame.length);
    return new StoredMessage(id, frame);
  }

  private static List<StoredMessage> messages(Object reply) {
    List<?> entries = (List<?>) reply;
    StoredMessage[] out = new StoredMessage[entries.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = decodeEntry((byte[]) entries.get(i));
    }
    return List.of(out);
  }

  /**
   * A random epoch: 63 bits, never 0 (which means "none"). ThreadLocalRandom, not SecureRandom: an
   * epoch must differ from the stream's earlier ones, not be unguessable, and this runs per topic
   * append.
   */
  static long newEpoch() {
    long e = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
    return e == 0 ? 1 : e;
  }

  /** {@code n} in decimal ASCII. */
  static byte[] decimal(long n) {
    return ascii(Long.toString(n));
  }

  /** An epoch reply (a decimal string), parsed without a String. */
  static long epoch(Object reply) {
    byte[] digits = (byte[]) reply;
    if (digits.length == 0 || digits.length > 19) {
      throw new IllegalStateException("epoch " + new String(digits, StandardCharsets.US_ASCII));
    }
    long n = 0;
    for (byte d : digits) {
      if (d < '0' || d > '9') {
        throw new IllegalStateException("epoch " + new String(digits, StandardCharsets.US_ASCII));
      }
      n = n * 10 + (d - '0');
    }
    return n;
  }

  private static String string(Object reply) {
    return new String((byte[]) reply, StandardCharsets.UTF_8);
  }

  private static String stringOrNull(Object reply) {
    return reply == null ? null : string(reply);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  // ---- failures ----

  /**
   * Every failure of the Redis path becomes {@code store_unavailable}: Lettuce's (timeouts,
   * connection loss, rejected commands, error replies) and whatever its executors throw while
   * shutting down.
   */
  static Throwable translate(Throwable e) {
    Throwable cause = Failures.unwrap(e);
    if (cause instanceof GatewayException || cause instanceof IllegalArgumentException) {
      return cause;
    }
    String what = cause instanceof RedisCommandTimeoutException
        ? "no reply within the command timeout (the call may have taken effect)"
        : String.valueOf(cause.getMessage());
    return unavailable(what, cause);
  }

  static GatewayException unavailable(String what, Throwable cause) {
    return new GatewayException(ErrorCodes.STORE_UNAVAILABLE, "recovery store unavailable: " + what, cause);
  }
}
