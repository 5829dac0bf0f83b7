package io.wsgateway.redis.internal;

import io.wsgateway.redis.RedisRecoveryOptions;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The recovery store's Lua scripts, one per operation so each is one round trip, written for one
 * store: its limits and expiries are constants in the source, and a random nonce in the first line
 * makes the scripts' SHA-1 digests this store's alone.
 *
 * <p>Why a store of its own: after Redis lost its script cache (a restart, a failover, SCRIPT
 * FLUSH) our EVALSHAs fail with NOSCRIPT until we load the scripts again, and {@link ScriptCalls}
 * keeps their order only if nobody else loads them in the meantime. Other gateways share our script
 * text; with the nonce they cannot load our digests, so a later EVALSHA of ours can never succeed
 * before an earlier one that failed is sent again. The cost: each store's scripts stay in Redis's
 * script cache (a few KB) until Redis restarts or its cache is flushed.
 *
 * <p>Keys (docs/registry.md), all of one user under the user's hash tag, all of one topic under
 * the topic's:
 * <ul>
 *   <li>{@code <prefix>us:{<user>}}: sorted set, the user's session ids, scored by the order of
 *       their last create or claim (oldest first, which is the eviction order);
 *   <li>{@code <prefix>s:{<user>}:<sessionId>}: hash {@code seq} (last seq assigned), {@code bytes}
 *       (frame bytes in the log), {@code epoch}, {@code owner} (only while attached), {@code r}
 *       (Redis time in ms after which an append extends an attached session's expiry), {@code
 *       lost} (after a restore: the seq through which the history was lost);
 *   <li>{@code <prefix>s:{<user>}:<sessionId>:log}: list of log entries, oldest first, holding seqs
 *       {@code seq - LLEN + 1 .. seq};
 *   <li>{@code <prefix>s:{<user>}:<sessionId>:ids}: list, the message ids of the log's newest
 *       entries, for deduplication (see {@link #LOG});
 *   <li>{@code <prefix>t:{<topic>}}: hash {@code offset}, {@code epoch}, {@code bytes};
 *       {@code <prefix>t:{<topic>}:log} and {@code :ids} as a session's;
 *   <li>{@code <prefix>incarnation}: string, a random token; missing means the data was lost.
 * </ul>
 *
 * <p>A log entry is {@code u16 id length, id (UTF-8), frame}. Epochs are decimal strings, never
 * Lua numbers (doubles hold 53 bits, an epoch 63). Replies are tables, for one reply type.
 */
final class RecoveryScripts {

  /** How many of a log's newest entries a deduplicating append looks through. */
  static final int DEDUPE_WINDOW = 128;
  /** How long a topic's offset and epoch outlive its latest publication (at least). */
  static final Duration TOPIC_META_TTL = Duration.ofHours(24);

  /** The current Redis time in ms, read once per script run and only when needed. */
  private static final String CLOCK = """
      local now = nil
      local function clock()
        if not now then
          local t = redis.call('TIME')
          now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        return now
      end
      """;

  /**
   * Log entries: frame length, dedupe, append within limits. Beside a log that has seen a
   * deduplicating append lives its list of recent ids ({@code :ids}): the ids of its newest (at most
   * DEDUPE) entries, its end lined up with the log's. Made from the log on the first deduplicating
   * append, kept by every append from then on: a deduplicating append then costs an LPOS over short
   * ids instead of an LRANGE of 128 whole entries into Lua (measured: ~3 us instead of ~60 us).
   */
  private static final String LOG = """
      local function frameLength(e)
        return #e - 2 - (string.byte(e, 1) * 256 + string.byte(e, 2))
      end

      local function idOf(e)
        return string.sub(e, 3, 2 + string.byte(e, 1) * 256 + string.byte(e, 2))
      end

      -- The seq of entry's message id among the newest DEDUPE entries of log, whose newest is `last`.
      local function find(log, ids, last, entry)
        local n = redis.call('LLEN', log)
        if n == 0 then return nil end
        local k = redis.call('LLEN', ids)
        if k == 0 then
          local recent = redis.call('LRANGE', log, -DEDUPE, -1)
          local list = {}
          for i = 1, #recent do list[i] = idOf(recent[i]) end
          k = redis.call('RPUSH', ids, unpack(list))
          local ttl = redis.call('PTTL', log)
          if ttl > 0 then redis.call('PEXPIRE', ids, ttl) end
        end
        local at = redis.call('LPOS', ids, idOf(entry), 'RANK', -1)
        if not at then return nil end
        local seq = last - (k - 1 - at)
        -- Recent ids may reach back before what the log still holds (trimmed by its limits).
        if seq <= last - n then return nil end
        return seq
      end

      -- Appends entry, drops the oldest beyond the limits (never the newest); returns the frame
      -- bytes then kept, the length, and whether the log has recent ids. A new list starts from 0
      -- bytes, whatever the hash said, and without recent ids (an older log's would not line up).
      local function push(log, ids, entry, bytes, maxMessages, maxBytes)
        local n = redis.call('RPUSH', log, entry)
        local hasIds = false
        if n == 1 then
          bytes = 0
          redis.call('DEL', ids)
        else
          local k = redis.call('RPUSHX', ids, idOf(entry))
          if k > DEDUPE then redis.call('LPOP', ids) end
          hasIds = k > 0
        end
        bytes = bytes + frameLength(entry)
        while n > maxMessages or (bytes > maxBytes and n > 1) do
          bytes = bytes - frameLength(redis.call('LPOP', log))
          n = n - 1
        end
        return bytes, n, hasIds
      end
      """;

  /**
   * Appending to one session whose hash fields {@code h} are {seq, bytes, owner, epoch, r}. An
   * attached session's keys get the attached TTL again once its refresh time has passed (so not on
   * every append: two PEXPIREs saved per append); a new log takes its hash's expiry.
   */
  private static final String SESSION = """
      local function appendSession(hash, h, entry)
        local log = hash .. ':log'
        local ids = hash .. ':ids'
        local seq = tonumber(h[1]) + 1
        local bytes, n, hasIds = push(log, ids, entry, tonumber(h[2]), MAX_MESSAGES, MAX_BYTES)
        if h[3] and clock() >= tonumber(h[5] or 0) then
          redis.call('HSET', hash, 'seq', seq, 'bytes', bytes, 'r', clock() + REFRESH_AFTER)
          redis.call('PEXPIRE', hash, ATTACHED_TTL)
          redis.call('PEXPIRE', log, ATTACHED_TTL)
          if hasIds then redis.call('PEXPIRE', ids, ATTACHED_TTL) end
          return seq, true
        end
        redis.call('HSET', hash, 'seq', seq, 'bytes', bytes)
        if n == 1 then
          local ttl = redis.call('PTTL', hash)
          if ttl > 0 then redis.call('PEXPIRE', log, ttl) end
        end
        return seq, false
      end
      """;

  /** The user's index: moving a session to the newest end, evicting beyond the limit. */
  private static final String INDEX = """
      local function touch(index, sessionId)
        local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
        local score = 1
        if top[2] then score = tonumber(top[2]) + 1 end
        redis.call('ZADD', index, score, sessionId)
        redis.call('PEXPIRE', index, INDEX_TTL)
      end

      -- Beyond MAX_SESSIONS: forgets members whose session expired, then evicts the oldest
      -- detached sessions; never `keep`, never a live one.
      local function evict(index, base, keep)
        local excess = redis.call('ZCARD', index) - MAX_SESSIONS
        if excess <= 0 then return end
        local members = redis.call('ZRANGE', index, 0, -1)
        local detached = {}
        for i = 1, #members do
          local m = members[i]
          if m ~= keep then
            local h = redis.call('HMGET', base .. m, 'seq', 'owner')
            if not h[1] then
              redis.call('ZREM', index, m)
              excess = excess - 1
            elseif not h[2] then
              detached[#detached + 1] = m
            end
          end
        end
        for i = 1, #detached do
          if excess <= 0 then break end
          local m = detached[i]
          redis.call('DEL', base .. m, base .. m .. ':log', base .. m .. ':ids')
          redis.call('ZREM', index, m)
          excess = excess - 1
        end
      end
      """;

  /** KEYS: hash, log, ids, index. ARGV: sessionId, owner, epoch. Replaces whatever the id held. */
  private static final String CREATE = """
      redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
      redis.call('HSET', KEYS[1], 'seq', 0, 'bytes', 0, 'owner', ARGV[2], 'epoch', ARGV[3],
          'r', clock() + REFRESH_AFTER)
      redis.call('PEXPIRE', KEYS[1], ATTACHED_TTL)
      touch(KEYS[4], ARGV[1])
      evict(KEYS[4], string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1]), ARGV[1])
      return {1}
      """;

  /**
   * KEYS: hash, log, ids, index. ARGV: sessionId, owner. Returns {0} or {1, seq, previous owner,
   * epoch}.
   */
  private static final String CLAIM = """
      local h = redis.call('HMGET', KEYS[1], 'seq', 'owner', 'epoch')
      if not h[1] then
        redis.call('ZREM', KEYS[4], ARGV[1])
        return {0}
      end
      redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'r', clock() + REFRESH_AFTER)
      redis.call('PEXPIRE', KEYS[1], ATTACHED_TTL)
      redis.call('PEXPIRE', KEYS[2], ATTACHED_TTL)
      redis.call('PEXPIRE', KEYS[3], ATTACHED_TTL)
      touch(KEYS[4], ARGV[1])
      return {1, tonumber(h[1]), h[2], h[3]}
      """;

  /**
   * KEYS: hash, log, ids, index. ARGV: sessionId, owner, lastSeq, epoch. Returns {seq, epoch}. A
   * missing session continues after lastSeq, whose history is lost.
   */
  private static final String RESTORE = """
      local h = redis.call('HMGET', KEYS[1], 'seq', 'epoch')
      if h[1] then
        if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then touch(KEYS[4], ARGV[1]) end
        return {tonumber(h[1]), h[2]}
      end
      redis.call('DEL', KEYS[2], KEYS[3])
      redis.call('HSET', KEYS[1], 'seq', ARGV[3], 'bytes', 0, 'owner', ARGV[2], 'epoch', ARGV[4],
          'lost', ARGV[3], 'r', clock() + REFRESH_AFTER)
      redis.call('PEXPIRE', KEYS[1], ATTACHED_TTL)
      touch(KEYS[4], ARGV[1])
      evict(KEYS[4], string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1]), ARGV[1])
      return {tonumber(ARGV[3]), ARGV[4]}
      """;

  /** KEYS: hash, log, ids. ARGV: owner. Only the current owner starts the window. */
  private static final String DETACH = """
      if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return {0} end
      redis.call('HDEL', KEYS[1], 'owner')
      redis.call('PEXPIRE', KEYS[1], WINDOW)
      redis.call('PEXPIRE', KEYS[2], WINDOW)
      redis.call('PEXPIRE', KEYS[3], WINDOW)
      return {1}
      """;

  /**
   * KEYS: index. ARGV: entry, dedupe ('1' or '0'). Session keys are derived from the index key
   * (same prefix and hash tag, so the same slot). Returns {duplicate, then per session: id, seq,
   * owner or nil, epoch}. Prunes index members whose session expired.
   */
  private static final String APPEND_TO_USER = """
      local index = KEYS[1]
      local out = {0}
      local members = redis.call('ZRANGE', index, 0, -1)
      if #members == 0 then return out end
      local base = string.sub(index, 1, PREFIX_LENGTH) .. string.sub(index, PREFIX_LENGTH + 2) .. ':'
      local live = {}
      for i = 1, #members do
        local hash = base .. members[i]
        local h = redis.call('HMGET', hash, 'seq', 'bytes', 'owner', 'epoch', 'r')
        if h[1] then
          live[#live + 1] = {members[i], hash, h}
        else
          redis.call('ZREM', index, members[i])
        end
      end
      local entry = ARGV[1]
      if ARGV[2] == '1' then
        for i = 1, #live do
          local s = live[i]
          local seq = find(s[2] .. ':log', s[2] .. ':ids', tonumber(s[3][1]), entry)
          if seq then
            local k = #out
            out[k + 1] = s[1]; out[k + 2] = seq; out[k + 3] = s[3][3]; out[k + 4] = s[3][4]
          end
        end
        if #out > 1 then
          out[1] = 1
          return out
        end
      end
      local refreshed = false
      for i = 1, #live do
        local s = live[i]
        local seq, r = appendSession(s[2], s[3], entry)
        refreshed = refreshed or r
        local k = #out
        out[k + 1] = s[1]; out[k + 2] = seq; out[k + 3] = s[3][3]; out[k + 4] = s[3][4]
      end
      if refreshed then redis.call('PEXPIRE', index, INDEX_TTL) end
      return out
      """;

  /** KEYS: hash, log, ids, index. ARGV: entry. Returns {0} (unknown) or {1, seq, owner or nil, epoch}. */
  private static final String APPEND_TO_SESSION = """
      local h = redis.call('HMGET', KEYS[1], 'seq', 'bytes', 'owner', 'epoch', 'r')
      if not h[1] then return {0} end
      local seq = find(KEYS[2], KEYS[3], tonumber(h[1]), ARGV[1])
      if not seq then
        local refreshed
        seq, refreshed = appendSession(KEYS[1], h, ARGV[1])
        if refreshed then redis.call('PEXPIRE', KEYS[4], INDEX_TTL) end
      end
      return {1, seq, h[3], h[4]}
      """;

  /**
   * KEYS: hash, log. ARGV: afterSeq. Returns {status} or {0, entries}: 0 complete, 1 trimmed, 2
   * lost, 3 ahead, 4 unknown (as the in-memory store decides, in the same order).
   */
  private static final String READ = """
      local h = redis.call('HMGET', KEYS[1], 'seq', 'lost')
      if not h[1] then return {4} end
      local seq = tonumber(h[1])
      local after = tonumber(ARGV[1])
      if after > seq then return {3} end
      if h[2] and after < tonumber(h[2]) then return {2} end
      if after == seq then return {0} end
      local first = seq - redis.call('LLEN', KEYS[2]) + 1
      if after + 1 < first then return {1} end
      return {0, redis.call('LRANGE', KEYS[2], after + 1 - first, -1)}
      """;

  /**
   * KEYS: hash, log, ids. ARGV: entry, dedupe ('1' or '0'), epoch for a new history. Returns
   * {offset, epoch, duplicate}. The log (and its recent ids) expire TOPIC_TTL after the latest
   * publication, the hash TOPIC_META_TTL after it.
   */
  private static final String APPEND_TO_TOPIC = """
      local h = redis.call('HMGET', KEYS[1], 'offset', 'epoch', 'bytes')
      local offset = tonumber(h[1] or 0)
      local epoch = h[2]
      if ARGV[2] == '1' and epoch then
        local found = find(KEYS[2], KEYS[3], offset, ARGV[1])
        if found then return {found, epoch, 1} end
      end
      local bytes = tonumber(h[3] or 0)
      if not epoch then
        epoch = ARGV[3]
        offset = 0
      end
      local n, hasIds
      bytes, n, hasIds = push(KEYS[2], KEYS[3], ARGV[1], bytes, TOPIC_MAX_MESSAGES, TOPIC_MAX_BYTES)
      offset = offset + 1
      redis.call('HSET', KEYS[1], 'offset', offset, 'epoch', epoch, 'bytes', bytes)
      redis.call('PEXPIRE', KEYS[2], TOPIC_TTL)
      if hasIds then redis.call('PEXPIRE', KEYS[3], TOPIC_TTL) end
      redis.call('PEXPIRE', KEYS[1], TOPIC_META_TTL)
      return {offset, epoch, 0}
      """;

  /**
   * KEYS: hash. ARGV: epoch for a new history. Returns {offset, epoch}; a topic without history gets
   * an empty one in that epoch, so a subscriber knows the epoch its offsets will belong to.
   */
  private static final String TOPIC_POSITION = """
      local h = redis.call('HMGET', KEYS[1], 'offset', 'epoch')
      if not h[2] then
        redis.call('HSET', KEYS[1], 'offset', 0, 'epoch', ARGV[1], 'bytes', 0)
        redis.call('PEXPIRE', KEYS[1], TOPIC_META_TTL)
        return {0, ARGV[1]}
      end
      return {tonumber(h[1]), h[2]}
      """;

  /**
   * KEYS: hash, log. ARGV: afterOffset. Returns {} (no history), {epoch, trimmed} or {epoch, 0,
   * entries}.
   */
  private static final String READ_TOPIC = """
      local h = redis.call('HMGET', KEYS[1], 'offset', 'epoch')
      if not h[2] then return {} end
      local offset = tonumber(h[1])
      local after = tonumber(ARGV[1])
      if after == offset then return {h[2], 0} end
      local first = offset - redis.call('LLEN', KEYS[2]) + 1
      if after > offset or after + 1 < first then return {h[2], 1} end
      return {h[2], 0, redis.call('LRANGE', KEYS[2], after + 1 - first, -1)}
      """;

  /** KEYS: the incarnation key. ARGV: a new token, kept if there is none. Returns {token}. */
  private static final String INCARNATION = """
      local token = redis.call('GET', KEYS[1])
      if token then return {token} end
      redis.call('SET', KEYS[1], ARGV[1])
      return {ARGV[1]}
      """;

  final Script create;
  final Script claim;
  final Script restore;
  final Script detach;
  final Script appendToUser;
  final Script appendToSession;
  final Script read;
  final Script appendToTopic;
  final Script topicPosition;
  final Script readTopic;
  final Script incarnation;
  final List<Script> all;

  /** The scripts of one store with {@code options}; {@code nonce} makes their digests its own. */
  RecoveryScripts(RedisRecoveryOptions options, String nonce) {
    long attachedTtl = options.attachedTtl().toMillis();
    long window = options.window().toMillis();
    long topicTtl = options.topicHistoryTtl().toMillis();
    Map<String, Long> constants = Map.ofEntries(
        Map.entry("PREFIX_LENGTH", (long) options.keyPrefix().getBytes(StandardCharsets.UTF_8).length),
        Map.entry("DEDUPE", (long) DEDUPE_WINDOW),
        Map.entry("MAX_MESSAGES", (long) options.maxMessages()),
        Map.entry("MAX_BYTES", options.maxBytes()),
        Map.entry("MAX_SESSIONS", (long) options.maxSessionsPerUser()),
        Map.entry("TOPIC_MAX_MESSAGES", (long) options.topicMaxMessages()),
        Map.entry("TOPIC_MAX_BYTES", options.topicMaxBytes()),
        Map.entry("ATTACHED_TTL", attachedTtl),
        // Refreshed once a quarter of the TTL has passed: an attached session keeps at least three
        // quarters of it, and a busy one costs two PEXPIREs per quarter instead of per append.
        Map.entry("REFRESH_AFTER", Math.max(1, attachedTtl / 4)),
        Map.entry("WINDOW", window),
        // The index outlives every session in it: refreshed whenever one of them is, by more.
        Map.entry("INDEX_TTL", attachedTtl + window),
        Map.entry("TOPIC_TTL", topicTtl),
        Map.entry("TOPIC_META_TTL", Math.max(TOPIC_META_TTL.toMillis(), topicTtl)));
    String header = "-- wsgw recovery store " + nonce + "\n" + declare(constants);
    create = new Script("create", header + CLOCK + INDEX + CREATE);
    claim = new Script("claim", header + CLOCK + INDEX + CLAIM);
    restore = new Script("restore", header + CLOCK + INDEX + RESTORE);
    detach = new Script("detach", header + DETACH);
    appendToUser = new Script("appendToUser", header + CLOCK + LOG + SESSION + APPEND_TO_USER);
    appendToSession = new Script("appendToSession", header + CLOCK + LOG + SESSION + APPEND_TO_SESSION);
    read = new Script("read", header + READ);
    appendToTopic = new Script("appendToTopic", header + LOG + APPEND_TO_TOPIC);
    topicPosition = new Script("topicPosition", header + TOPIC_POSITION);
    readTopic = new Script("readTopic", header + READ_TOPIC);
    incarnation = new Script("incarnation", header + INCARNATION);
    all = List.of(create, claim, restore, detach, appendToUser, appendToSession, read, appendToTopic,
        topicPosition, readTopic, incarnation);
  }

  /**
   * The constants as Lua locals. Numbers Lua holds exactly (below 2^53); those passed to Redis
   * commands as strings of digits, which is how Redis must receive a TTL.
   */
  private static String declare(Map<String, Long> constants) {
    StringBuilder out = new StringBuilder();
    constants.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
      long v = e.getValue();
      if (v < 0 || v > (1L << 53)) {
        throw new IllegalArgumentException(e.getKey() + ": " + v + " (expected: <= 2^53)");
      }
      out.append("local ").append(e.getKey()).append(" = ").append(v).append('\n');
    });
    return out.toString();
  }

  /** One script: its source and digest. */
  static final class Script {
    final String name;
    final String body;
    final String sha;

    Script(String name, String body) {
      this.name = name;
      this.body = body;
      try {
        this.sha = HexFormat.of().formatHex(
            MessageDigest.getInstance("SHA-1").digest(body.getBytes(StandardCharsets.UTF_8)));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-1 is required of every JVM", e);
      }
    }

    @Override
    public String toString() {
      return name;
    }
  }
}
