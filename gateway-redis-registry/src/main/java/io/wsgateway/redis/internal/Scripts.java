package io.wsgateway.redis.internal;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;

/**
 * The registry's Lua scripts. Each touches exactly one key, so each runs in one cluster slot.
 * Sent by EVALSHA; a Redis that lost its script cache (a restart, a failover) gets the script by
 * EVAL once.
 */
final class Scripts {

  /**
   * Heartbeat of one incarnation: extends its liveness key if it still holds its epoch. Returns 1
   * (extended), 0 (key lost: expired or Redis lost data) or -1 (another incarnation holds the id).
   */
  static final Script HEARTBEAT = new Script(
      "local v = redis.call('GET', KEYS[1])\n"
          + "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
          + "if not v then return 0 end\n"
          + "return -1\n");

  /** Deletes hash field ARGV[1] if it still holds ARGV[2]; returns the number deleted. */
  static final Script HDEL_IF = new Script(
      "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then\n"
          + "  return redis.call('HDEL', KEYS[1], ARGV[1])\n"
          + "end\n"
          + "return 0\n");

  /** Deletes the key if it still holds ARGV[1]; returns the number deleted. */
  static final Script DEL_IF = new Script(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
          + "return 0\n");

  private Scripts() {}

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

    /** Runs the script on {@code key}; an integer reply. */
    CompletableFuture<Long> run(
        RedisClusterAsyncCommands<String, String> redis, String key, String... args) {
      String[] keys = {key};
      CompletableFuture<Long> result = new CompletableFuture<>();
      redis.<Long>evalsha(sha, ScriptOutputType.INTEGER, keys, args).whenComplete((v, e) -> {
        if (e == null) {
          result.complete(v);
        } else if (String.valueOf(e.getMessage()).contains("NOSCRIPT")) {
          redis.<Long>eval(body, ScriptOutputType.INTEGER, keys, args).whenComplete((v2, e2) -> {
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
