package io.wsgateway.redis.internal;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;

/**
 * The recovery store's Lua scripts, one per operation so each is one round trip. KEYS[1] is the
 * session hash, KEYS[2] its log; both carry the session's hash tag, so each script runs in one
 * cluster slot. Sent by EVALSHA (loaded at connect); a Redis that lost its script cache gets the
 * script by EVAL once.
 *
 * <p>Hash fields: {@code user}, {@code owner}, {@code seq} (the last seq assigned), {@code subs}
 * (encoded topics), {@code detached} (present while the recovery window runs). Both keys always
 * carry the same expiry: the attached TTL, or the window once detached.
 */
final class RecoveryScripts {

  /** ARGV: user, owner, attachedTtl ms. Replaces whatever was stored under the id. */
  static final Script CREATE = new Script(
      "redis.call('DEL', KEYS[1], KEYS[2])\n"
          + "redis.call('HSET', KEYS[1], 'user', ARGV[1], 'owner', ARGV[2], 'seq', 0, 'subs', '')\n"
          + "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
          + "return 1\n");

  /**
   * ARGV: user, owner, attachedTtl ms. Returns {0} (unknown or another user's) or {1, seq, subs,
   * previous owner}.
   */
  static final Script CLAIM = new Script(
      "local h = redis.call('HMGET', KEYS[1], 'user', 'owner', 'seq', 'subs')\n"
          + "if h[1] ~= ARGV[1] then return {0} end\n"
          + "redis.call('HSET', KEYS[1], 'owner', ARGV[2])\n"
          + "redis.call('HDEL', KEYS[1], 'detached')\n"
          + "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
          + "redis.call('PEXPIRE', KEYS[2], ARGV[3])\n"
          + "return {1, tonumber(h[3]), h[4] or '', h[2] or ''}\n");

  /**
   * ARGV: owner, entry, maxMessages, attachedTtl ms. Returns {1, seq}, {0, owner} or {0} (gone). A
   * detached session keeps its window: the log takes the hash's remaining TTL.
   */
  static final Script APPEND = new Script(
      "local h = redis.call('HMGET', KEYS[1], 'owner', 'detached')\n"
          + "if not h[1] then return {0} end\n"
          + "if h[1] ~= ARGV[1] then return {0, h[1]} end\n"
          + "local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
          + "local max = tonumber(ARGV[3])\n"
          + "if redis.call('RPUSH', KEYS[2], ARGV[2]) > max then\n"
          + "  redis.call('LTRIM', KEYS[2], -max, -1)\n"
          + "end\n"
          + "if h[2] then\n"
          + "  local ttl = redis.call('PTTL', KEYS[1])\n"
          + "  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end\n"
          + "else\n"
          + "  redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
          + "  redis.call('PEXPIRE', KEYS[2], ARGV[4])\n"
          + "end\n"
          + "return {1, seq}\n");

  /**
   * ARGV: afterSeq. Returns {-1} (gone), {1} (trimmed), {0} (nothing after it) or {0, entries}
   * (oldest first). The log holds seqs {@code seq - LLEN + 1 .. seq}.
   */
  static final Script READ = new Script(
      "local seq = redis.call('HGET', KEYS[1], 'seq')\n"
          + "if not seq then return {-1} end\n"
          + "seq = tonumber(seq)\n"
          + "local after = tonumber(ARGV[1])\n"
          + "if after >= seq then return {0} end\n"
          + "local first = seq - redis.call('LLEN', KEYS[2]) + 1\n"
          + "if after + 1 < first then return {1} end\n"
          + "return {0, redis.call('LRANGE', KEYS[2], after + 1 - first, -1)}\n");

  /**
   * ARGV: owner, encoded topics. Only an existing session (a stray hash would never expire), and only
   * its owner.
   */
  static final Script SUBSCRIPTIONS = new Script(
      "if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end\n"
          + "redis.call('HSET', KEYS[1], 'subs', ARGV[2])\n"
          + "return 1\n");

  /** ARGV: owner, window ms. Only the current owner starts the window. */
  static final Script DETACH = new Script(
      "if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end\n"
          + "redis.call('HSET', KEYS[1], 'detached', '1')\n"
          + "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
          + "redis.call('PEXPIRE', KEYS[2], ARGV[2])\n"
          + "return 1\n");

  static final Script[] ALL = {CREATE, CLAIM, APPEND, READ, SUBSCRIPTIONS, DETACH};

  private RecoveryScripts() {}

  static final class Script {
    final String body;
    final String sha;

    Script(String body) {
      this.body = body;
      try {
        this.sha = HexFormat.of().formatHex(
            MessageDigest.getInstance("SHA-1").digest(body.getBytes(StandardCharsets.UTF_8)));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-1 is required of every JVM", e);
      }
    }

    /** Runs the script; the reply as {@code type} decodes it. */
    <T> CompletableFuture<T> run(
        RedisClusterAsyncCommands<byte[], byte[]> redis,
        ScriptOutputType type,
        byte[][] keys,
        byte[]... args) {
      CompletableFuture<T> result = new CompletableFuture<>();
      redis.<T>evalsha(sha, type, keys, args).whenComplete((v, e) -> {
        if (e == null) {
          result.complete(v);
        } else if (String.valueOf(e.getMessage()).contains("NOSCRIPT")) {
          // Redis restarted or its script cache was flushed. Caveat: appends already pipelined
          // behind this one may run before its EVAL, so across such an event one session's
          // appends may complete out of issue order (each still gets a distinct seq).
          redis.<T>eval(body, type, keys, args).whenComplete((v2, e2) -> {
            if (e2 == null) {
              result.complete(v2);
            } else {
              result.completeExceptionally(e2);
            }
          });
        } else {
          result.completeExceptionally(e);
        }
      });
      return result;
    }
  }
}
