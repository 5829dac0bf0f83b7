package io.wsgateway.redis.internal;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import io.wsgateway.ErrorCodes;
import io.wsgateway.GatewayException;
import io.wsgateway.redis.NearCacheStats;
import io.wsgateway.redis.RedisConnectionRegistry;
import io.wsgateway.redis.RedisRegistryOptions;
import io.wsgateway.registry.InstanceContext;
import io.wsgateway.registry.InstanceStatus;
import io.wsgateway.registry.Presence;
import io.wsgateway.registry.RegisteredConnection;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis registry. Key layout in {@link Keys}; design and costs in docs/registry.md.
 *
 * <p>Every call is one pipelined round trip on one shared Lettuce connection in the steady state:
 * register is HSET (user hash) + SADD (instance index), unregister HDEL + SREM, a lookup one HGETALL
 * whose entries are judged against {@link #view}, a local copy of which incarnation of each
 * instance is live, refreshed every heartbeat. Only an entry the view cannot judge (an instance
 * attached or restarted since the last refresh) costs a second round trip, an MGET of liveness keys.
 * With the {@link NearCache} (standalone Redis, on by default) a lookup of a user read before and
 * not changed since costs no round trip at all.
 * No script touches two keys, so the layout works unchanged on Redis Cluster.
 */
public final class RedisRegistryImpl implements RedisConnectionRegistry {

  private static final Logger log = LoggerFactory.getLogger(RedisRegistryImpl.class);
  private static final SecureRandom EPOCHS = new SecureRandom();
  /** Connections popped from a dead incarnation's index per sweep step. */
  private static final int SWEEP_BATCH = 500;

  private final RedisRegistryOptions options;
  private final Keys keys;
  private final ClientResources resources;
  private final ExecutorService flushes;
  private final AbstractRedisClient client;
  private final StatefulConnection<String, String> connection;
  private final RedisClusterAsyncCommands<String, String> redis;
  // Null with Redis Cluster or when configured off.
  private final NearCache nearCache;
  private final AtomicBoolean trackingRefused = new AtomicBoolean();
  private final ScheduledExecutorService scheduler;
  private final boolean ownScheduler;
  private final List<ScheduledFuture<?>> tasks = new ArrayList<>();
  private final String ttlMillis;

  // Instances attached through this registry, by id. Concurrent: attach, register and the
  // heartbeat run on different threads.
  private final Map<String, Attached> attached = new ConcurrentHashMap<>();
  // Instance id -> epoch of its live incarnation, as of the last heartbeat; absent if none was live.
  // Replaced whole on each refresh; lookups that learn better put into it.
  private volatile Map<String, String> view = new ConcurrentHashMap<>();

  private final AtomicLong resyncs = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean heartbeatRunning = new AtomicBoolean();
  private final AtomicBoolean sweepRunning = new AtomicBoolean();
  private final AtomicBoolean connectionLost = new AtomicBoolean();

  private RedisRegistryImpl(
      RedisRegistryOptions options,
      ClientResources resources,
      ExecutorService flushes,
      AbstractRedisClient client,
      StatefulConnection<String, String> connection,
      RedisClusterAsyncCommands<String, String> redis,
      NearCache nearCache) {
    this.options = options;
    this.nearCache = nearCache;
    this.keys = new Keys(options.keyPrefix());
    this.resources = resources;
    this.flushes = flushes;
    this.client = client;
    this.connection = connection;
    this.redis = redis;
    this.ttlMillis = Long.toString(options.heartbeatTtl().toMillis());
    this.ownScheduler = options.scheduler().isEmpty();
    this.scheduler = options.scheduler().orElseGet(RedisRegistryImpl::newScheduler);
  }

  /** Connects, blocking up to the connect timeout, and starts heartbeats and sweeps. */
  public static RedisRegistryImpl connect(RedisRegistryOptions options) {
    ClientResources resources = DefaultClientResources.builder()
        .reconnectDelay(Delay.exponential(
            Duration.ofMillis(10), options.maxReconnectDelay(), 2, TimeUnit.MILLISECONDS))
        .build();
    RedisURI uri = RedisURI.create(options.uri());
    SocketOptions socket = SocketOptions.builder().connectTimeout(options.connectTimeout()).build();
    // Fail fast: a command waits at most commandTimeout, and while disconnected commands are
    // rejected at once instead of piling up in Lettuce's (otherwise unbounded) disconnected buffer.
    TimeoutOptions timeouts = TimeoutOptions.enabled(options.commandTimeout());
    ConnectionListener listener = new ConnectionListener();
    // One thread runs the coalesced flushes (see Flusher): a few microseconds each.
    ExecutorService flushes = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "wsgw-redis-flush");
      t.setDaemon(true);
      return t;
    });
    AbstractRedisClient client = null;
    try {
      RedisRegistryImpl registry;
      if (options.cluster()) {
        RedisClusterClient cluster = RedisClusterClient.create(resources, uri);
        client = cluster;
        cluster.setOptions(ClusterClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .requestQueueSize(options.maxPendingCommands())
            .timeoutOptions(timeouts)
            .socketOptions(socket)
            .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                .enableAllAdaptiveRefreshTriggers()
                .build())
            .build());
        cluster.addListener(listener);
        StatefulRedisClusterConnection<String, String> c = cluster.connect(StringCodec.UTF8);
        registry = new RedisRegistryImpl(
            options, resources, flushes, cluster, c, coalesced(c, c.async(), flushes), null);
      } else {
        RedisClient standalone = RedisClient.create(resources, uri);
        client = standalone;
        standalone.setOptions(ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .requestQueueSize(options.maxPendingCommands())
            .timeoutOptions(timeouts)
            .socketOptions(socket)
            .build());
        standalone.addListener(listener);
        StatefulRedisConnection<String, String> c = standalone.connect(StringCodec.UTF8);
        NearCache nearCache = null;
        if (options.nearCacheMaxEntries() > 0) {
          nearCache = new NearCache(options.nearCacheMaxEntries());
          c.addListener(nearCache);
        }
        registry = new RedisRegistryImpl(
            options, resources, flushes, standalone, c, coalesced(c, c.async(), flushes), nearCache);
      }
      listener.registry = registry;
      registry.start();
      log.info("Redis connection registry started: {}", options);
      return registry;
    } catch (RedisException e) {
      if (client != null) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
      resources.shutdown(0, 2, TimeUnit.SECONDS);
      flushes.shutdownNow();
      throw new GatewayException(
          ErrorCodes.REGISTRY_UNAVAILABLE,
          "cannot connect to Redis at " + maskedUri(options) + ": " + e.getMessage(),
          e);
    }
  }

  private static RedisClusterAsyncCommands<String, String> coalesced(
      StatefulConnection<String, String> connection,
      RedisClusterAsyncCommands<String, String> commands,
      ExecutorService flushes) {
    connection.setAutoFlushCommands(false);
    return new Flusher(connection, flushes).wrap(commands);
  }

  private static String maskedUri(RedisRegistryOptions options) {
    String s = options.toString();
    int from = s.indexOf("uri=") + 4;
    return s.substring(from, s.indexOf(", cluster="));
  }

  private static ScheduledExecutorService newScheduler() {
    ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "wsgw-redis-registry");
      t.setDaemon(true);
      return t;
    });
    s.setRemoveOnCancelPolicy(true);
    return s;
  }

  private void start() {
    long beat = options.heartbeatInterval().toNanos();
    long sweep = options.sweepInterval().toNanos();
    tasks.add(scheduler.scheduleWithFixedDelay(this::heartbeatTick, beat, beat, TimeUnit.NANOSECONDS));
    tasks.add(scheduler.scheduleWithFixedDelay(this::sweepTick, sweep, sweep, TimeUnit.NANOSECONDS));
    enableTracking();
  }

  @Override
  public RedisRegistryOptions options() {
    return options;
  }

  @Override
  public long resyncCount() {
    return resyncs.get();
  }

  // ---- register / unregister ----

  @Override
  public CompletionStage<Void> register(RegisteredConnection c) {
    Attached a = attached.get(c.instanceId());
    if (a == null) {
      return CompletableFuture.failedFuture(notAttached(c.instanceId()));
    }
    return write(c, a.epoch);
  }

  private CompletableFuture<Void> write(RegisteredConnection c, String epoch) {
    try {
      String userKey = keys.user(c.userId());
      CompletableFuture<Boolean> hset = invalidatingOnReply(userKey, redis.hset(
          userKey, c.connectionId(), Keys.entry(c.instanceId(), epoch))
          .toCompletableFuture());
      CompletableFuture<Long> sadd =
          redis.sadd(keys.index(c.instanceId(), epoch), Keys.member(c)).toCompletableFuture();
      return both(hset, sadd);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(translate(e));
    }
  }

  @Override
  public CompletionStage<Void> unregister(RegisteredConnection c) {
    Attached a = attached.get(c.instanceId());
    try {
      String userKey = keys.user(c.userId());
      CompletableFuture<Long> hdel = invalidatingOnReply(
          userKey, redis.hdel(userKey, c.connectionId()).toCompletableFuture());
      if (a == null) {
        return mapped(hdel, v -> null);
      }
      if (a.resyncing.get()) {
        // A resync may be writing this connection back from its snapshot; it deletes these again.
        a.unregisteredDuringResync.add(c);
      }
      CompletableFuture<Long> srem =
          redis.srem(keys.index(c.instanceId(), a.epoch), Keys.member(c)).toCompletableFuture();
      return both(hdel, srem);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(translate(e));
    }
  }

  // ---- lookups ----

  @Override
  public CompletionStage<Set<String>> instancesOf(String userId) {
    return lookup(userId).thenApply(Presence::instances);
  }

  @Override
  public CompletionStage<Presence> presence(String userId) {
    return lookup(userId);
  }

  private CompletableFuture<Presence> lookup(String userId) {
    CompletableFuture<Presence> out = new CompletableFuture<>();
    String userKey = keys.user(userId);
    Map<String, String> cached = nearCache == null ? null : nearCache.get(userKey);
    if (cached != null) {
      resolve(userId, userKey, cached, out);
      return out;
    }
    // Null when the reply must not be cached (no cache, tracking off, another read in flight).
    NearCache.Pending read = nearCache == null ? null : nearCache.beginRead(userKey);
    try {
      redis.hgetall(userKey).whenComplete((entries, e) -> {
        if (e != null) {
          if (read != null) {
            nearCache.abandon(userKey, read);
          }
          suspendNearCache();
          out.completeExceptionally(translate(e));
        } else {
          if (read != null) {
            nearCache.complete(userKey, read, entries);
          }
          resolve(userId, userKey, entries, out);
        }
      });
    } catch (RuntimeException e) {
      if (read != null) {
        nearCache.abandon(userKey, read);
      }
      out.completeExceptionally(translate(e));
    }
    return out;
  }

  /**
   * Our own change of a user's hash: dropped from the near cache when Redis confirms it, so this
   * registry's next lookup sees it even before the invalidation push (which follows) is read.
   */
  private <T> CompletableFuture<T> invalidatingOnReply(String userKey, CompletableFuture<T> write) {
    if (nearCache == null) {
      return write;
    }
    return write.whenComplete((v, e) -> nearCache.invalidate(userKey));
  }

  /**
   * A command failed (timeout, connection trouble): invalidations may be missing, so the cache stops
   * answering until a heartbeat gets through and tracking is enabled afresh. A partitioned Redis
   * leaves the connection open, so the disconnect listener alone would not notice.
   */
  private void suspendNearCache() {
    if (nearCache != null && nearCache.tracking()) {
      nearCache.trackingLost();
    }
  }

  /** Asks Redis to track this connection's reads for the near cache; at start and after reconnects. */
  private void enableTracking() {
    if (nearCache == null || closed.get()) {
      return;
    }
    try {
      redis.clientTracking(TrackingArgs.Builder.enabled()).whenComplete((ok, e) -> {
        if (e == null) {
          nearCache.trackingOn();
        } else if (trackingRefused.compareAndSet(false, true)) {
          log.warn("Redis refused client tracking ({}); lookups go to Redis every time", e.getMessage());
        }
      });
    } catch (RuntimeException e) {
      log.debug("client tracking not enabled", e);
    }
  }

  /** How the near cache is doing, for metrics and tests. */
  @Override
  public NearCacheStats nearCacheStats() {
    if (nearCache == null) {
      return new NearCacheStats(false, 0, 0, 0, 0);
    }
    return new NearCacheStats(nearCache.tracking(), nearCache.hits(), nearCache.misses(),
        nearCache.invalidations(), nearCache.size());
  }

  /** Judges each entry against the view; asks Redis about the instances the view cannot judge. */
  private void resolve(
      String userId, String userKey, Map<String, String> entries, CompletableFuture<Presence> out) {
    if (entries.isEmpty()) {
      out.complete(new Presence(userId, 0, Set.of()));
      return;
    }
    Map<String, String> live = view;
    Set<String> unsure = null;
    for (String entry : entries.values()) {
      String instance = Keys.instanceOf(entry);
      if (!Keys.epochOf(entry).equals(live.get(instance))) {
        if (unsure == null) {
          unsure = new HashSet<>();
        }
        unsure.add(instance);
      }
    }
    if (unsure == null) {
      out.complete(count(userId, userKey, entries, live, Map.of()));
      return;
    }
    List<String> ids = new ArrayList<>(unsure);
    String[] livenessKeys = new String[ids.size()];
    for (int i = 0; i < livenessKeys.length; i++) {
      livenessKeys[i] = keys.liveness(ids.get(i));
    }
    CompletionStage<List<KeyValue<String, String>>> liveness;
    try {
      liveness = redis.mget(livenessKeys);
    } catch (RuntimeException e) {
      out.completeExceptionally(translate(e));
      return;
    }
    liveness.whenComplete((values, e) -> {
      if (e != null) {
        out.completeExceptionally(translate(e));
        return;
      }
      Map<String, String> fresh = new HashMap<>();
      for (int i = 0; i < ids.size(); i++) {
        KeyValue<String, String> kv = values.get(i);
        String epoch = kv.hasValue() ? kv.getValue() : "";
        fresh.put(ids.get(i), epoch);
        if (kv.hasValue()) {
          live.put(ids.get(i), epoch);
        } else {
          live.remove(ids.get(i));
        }
      }
      try {
        out.complete(count(userId, userKey, entries, live, fresh));
      } catch (RuntimeException ex) {
        out.completeExceptionally(ex);
      }
    });
  }

  private Presence count(
      String userId,
      String userKey,
      Map<String, String> entries,
      Map<String, String> live,
      Map<String, String> fresh) {
    Set<String> instances = new HashSet<>();
    int connections = 0;
    for (Map.Entry<String, String> e : entries.entrySet()) {
      String entry = e.getValue();
      String instance = Keys.instanceOf(entry);
      String liveEpoch = fresh.containsKey(instance) ? fresh.get(instance) : live.get(instance);
      if (Keys.epochOf(entry).equals(liveEpoch)) {
        connections++;
        instances.add(instance);
      } else if (fresh.containsKey(instance)) {
        // Confirmed dead just now: drop the entry, unless it changed meanwhile.
        Scripts.HDEL_IF.run(redis, userKey, e.getKey(), entry).whenComplete((n, ex) -> {
          if (ex != null) {
            log.debug("lazy removal of a stale entry of {} failed", userId, ex);
          }
        });
      }
    }
    return new Presence(userId, connections, instances);
  }

  // ---- instance lifecycle ----

  @Override
  public CompletionStage<Void> attach(InstanceContext context) {
    String id = context.instanceId();
    Attached a = new Attached(context, newEpoch());
    Attached previous = attached.put(id, a);
    if (previous != null) {
      previous.detached = true;
    }
    view.put(id, a.epoch);
    CompletableFuture<Void> done = new CompletableFuture<>();
    try {
      // The liveness key first, then the directory field: a sweeper that sees the field sees the key.
      redis.set(keys.liveness(id), a.epoch, SetArgs.Builder.px(options.heartbeatTtl().toMillis()))
          .thenCompose(ok -> redis.hset(keys.directory(), Keys.entry(id, a.epoch), a.status.name()))
          .whenComplete((ok, e) -> {
            if (e != null) {
              done.completeExceptionally(translate(e));
              return;
            }
            done.complete(null);
            log.info("instance {} attached (epoch {})", id, a.epoch);
            // Predecessors of this id are already invisible (their epoch is not live); removing
            // their entries is housekeeping, off the attach's path.
            sweepEpochsOf(id, a.epoch).whenComplete((n, ex) -> {
              if (ex != null) {
                log.debug("sweep of predecessors of {} failed; the periodic sweep retries", id, ex);
              } else if (n > 0) {
                log.info("removed {} entries of earlier incarnations of instance {}", n, id);
              }
            });
          });
    } catch (RuntimeException e) {
      done.completeExceptionally(translate(e));
    }
    return done;
  }

  @Override
  public CompletionStage<Void> setInstanceStatus(String instanceId, InstanceStatus status) {
    if (status == InstanceStatus.GONE) {
      return retire(instanceId);
    }
    Attached a = attached.get(instanceId);
    if (a != null) {
      a.status = status;
      return mapped(redis.hset(keys.directory(), Keys.entry(instanceId, a.epoch), status.name()), v -> null);
    }
    return mapped(
        redis.get(keys.liveness(instanceId)).thenCompose(epoch -> epoch == null
            ? CompletableFuture.completedFuture(false)
            : redis.hset(keys.directory(), Keys.entry(instanceId, epoch), status.name())),
        v -> null);
  }

  /** GONE: stops acting for the instance, ends its liveness and removes its entries. */
  private CompletableFuture<Void> retire(String instanceId) {
    Attached a = attached.remove(instanceId);
    if (a != null) {
      a.detached = true;
    }
    view.remove(instanceId);
    CompletionStage<String> epochStage = a != null
        ? CompletableFuture.completedFuture(a.epoch)
        : redis.get(keys.liveness(instanceId));
    return mapped(
        epochStage.thenCompose(epoch -> {
          CompletableFuture<Long> ended = epoch == null
              ? CompletableFuture.completedFuture(0L)
              : Scripts.DEL_IF.run(redis, keys.liveness(instanceId), epoch);
          // Every incarnation not live any more, the retired one included.
          return ended.thenCompose(n -> sweepEpochsOf(instanceId, null));
        }),
        n -> {
          log.info("instance {} gone; removed {} entries", instanceId, n);
          return null;
        });
  }

  // ---- heartbeat, resync ----

  private void heartbeatTick() {
    if (closed.get() || !heartbeatRunning.compareAndSet(false, true)) {
      return;
    }
    try {
      heartbeat().whenComplete((v, e) -> {
        heartbeatRunning.set(false);
        if (e != null) {
          log.debug("heartbeat failed", e);
          suspendNearCache();
        } else if (nearCache != null && !nearCache.tracking() && !trackingRefused.get()) {
          // Redis answers again on a connection that never dropped (a stall, a partition that
          // healed): whatever invalidations it held came before this reply; start afresh.
          enableTracking();
        }
      });
    } catch (RuntimeException e) {
      heartbeatRunning.set(false);
      log.warn("heartbeat failed", e);
    }
  }

  @Override
  public CompletionStage<Void> heartbeat() {
    List<CompletableFuture<?>> all = new ArrayList<>();
    for (Attached a : attached.values()) {
      all.add(a.needsResync ? resync(a) : beat(a));
    }
    all.add(refreshView());
    return mapped(CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)), v -> null);
  }

  private CompletableFuture<Void> beat(Attached a) {
    String epoch = a.epoch;
    try {
      CompletableFuture<Long> script = Scripts.HEARTBEAT.run(redis, keys.liveness(a.id), epoch, ttlMillis);
      // Rewriting the directory field each beat repairs it if Redis lost it.
      CompletableFuture<Boolean> field =
          redis.hset(keys.directory(), Keys.entry(a.id, epoch), a.status.name()).toCompletableFuture();
      return script.thenCombine(field, (r, f) -> r).thenCompose(result -> {
        if (a.detached || !epoch.equals(a.epoch) || result == 1) {
          return CompletableFuture.completedFuture(null);
        }
        if (result == 0) {
          log.warn("liveness key of instance {} was lost; re-registering its connections", a.id);
          return resync(a);
        }
        lostToSuccessor(a);
        return CompletableFuture.completedFuture(null);
      });
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(translate(e));
    }
  }

  private void lostToSuccessor(Attached a) {
    log.warn("instance {} attached again elsewhere; this registry stops acting for epoch {}",
        a.id, a.epoch);
    a.detached = true;
    attached.remove(a.id, a);
  }

  /**
   * Puts an attached instance back into Redis: keeps its epoch if its liveness key survived, takes a
   * new one otherwise (so sweeps of the lost epoch cannot race the re-registration), then
   * re-registers every live connection in pipelined batches.
   */
  private CompletableFuture<Void> resync(Attached a) {
    if (!a.resyncing.compareAndSet(false, true)) {
      a.resyncAgain = true;
      return CompletableFuture.completedFuture(null);
    }
    a.needsResync = false;
    a.unregisteredDuringResync.clear();
    CompletableFuture<Void> result = ensureLiveness(a).thenCompose(owned -> {
      if (!owned) {
        return CompletableFuture.completedFuture(null);
      }
      String epoch = a.epoch;
      List<RegisteredConnection> snapshot = new ArrayList<>(a.context.liveConnections());
      return redis.hset(keys.directory(), Keys.entry(a.id, epoch), a.status.name())
          .toCompletableFuture()
          .thenCompose(ok -> writeBatches(snapshot, 0, epoch, a.id))
          .thenCompose(v -> {
            List<CompletableFuture<?>> undo = new ArrayList<>();
            for (RegisteredConnection c : a.unregisteredDuringResync) {
              undo.add(redis.hdel(keys.user(c.userId()), c.connectionId()).toCompletableFuture());
              undo.add(redis.srem(keys.index(a.id, epoch), Keys.member(c)).toCompletableFuture());
            }
            return CompletableFuture.allOf(undo.toArray(CompletableFuture[]::new));
          })
          .thenRun(() -> {
            resyncs.incrementAndGet();
            log.info("re-registered {} connections of instance {} (epoch {})", snapshot.size(), a.id, epoch);
          });
    });
    CompletableFuture<Void> out = new CompletableFuture<>();
    result.whenComplete((v, e) -> {
      a.resyncing.set(false);
      if (e != null) {
        a.needsResync = !a.detached;
        log.warn("resync of instance {} failed; retrying at the next heartbeat: {}", a.id, e.toString());
        out.completeExceptionally(translate(e));
        return;
      }
      out.complete(null);
      if (a.resyncAgain && !a.detached && !closed.get()) {
        a.resyncAgain = false;
        resync(a);
      }
    });
    return out;
  }

  /** True if the instance holds its liveness key afterwards (possibly under a new epoch). */
  private CompletableFuture<Boolean> ensureLiveness(Attached a) {
    String epoch = a.epoch;
    return Scripts.HEARTBEAT.run(redis, keys.liveness(a.id), epoch, ttlMillis).thenCompose(r -> {
      if (r == 1) {
        return CompletableFuture.completedFuture(true);
      }
      if (r == -1) {
        lostToSuccessor(a);
        return CompletableFuture.completedFuture(false);
      }
      String fresh = newEpoch();
      return redis.set(keys.liveness(a.id), fresh,
              SetArgs.Builder.nx().px(options.heartbeatTtl().toMillis()))
          .toCompletableFuture()
          .thenApply(ok -> {
            if (ok == null) {
              lostToSuccessor(a);
              return false;
            }
            a.epoch = fresh;
            view.put(a.id, fresh);
            log.info("instance {} continues under epoch {} (was {})", a.id, fresh, epoch);
            return true;
          });
    });
  }

  private CompletableFuture<Void> writeBatches(
      List<RegisteredConnection> snapshot, int from, String epoch, String instanceId) {
    if (from >= snapshot.size()) {
      return CompletableFuture.completedFuture(null);
    }
    int to = Math.min(snapshot.size(), from + options.resyncBatchSize());
    List<CompletableFuture<Void>> batch = new ArrayList<>(to - from);
    for (RegisteredConnection c : snapshot.subList(from, to)) {
      if (c.instanceId().equals(instanceId)) {
        batch.add(write(c, epoch));
      }
    }
    return CompletableFuture.allOf(batch.toArray(CompletableFuture[]::new))
        .thenCompose(v -> writeBatches(snapshot, to, epoch, instanceId));
  }

  /** Called when the connection to Redis came back after a loss: every attached instance resyncs. */
  private void onReconnected() {
    if (closed.get()) {
      return;
    }
    log.info("connection to Redis re-established; resyncing {} attached instances", attached.size());
    enableTracking();
    for (Attached a : attached.values()) {
      a.needsResync = true;
      resync(a);
    }
  }

  // ---- view and sweep ----

  /** Reads which incarnation of each known instance is live, and makes that the view. */
  private CompletableFuture<Void> refreshView() {
    return liveIncarnations().thenAccept(snapshot -> view = snapshot.live);
  }

  private CompletableFuture<Directory> liveIncarnations() {
    try {
      return redis.hgetall(keys.directory()).toCompletableFuture().thenCompose(fields -> {
        List<String> ids = new ArrayList<>();
        for (String field : fields.keySet()) {
          String id = Keys.instanceOf(field);
          if (!ids.contains(id)) {
            ids.add(id);
          }
        }
        if (ids.isEmpty()) {
          return CompletableFuture.completedFuture(new Directory(fields, new ConcurrentHashMap<>()));
        }
        String[] livenessKeys = ids.stream().map(keys::liveness).toArray(String[]::new);
        return redis.mget(livenessKeys).toCompletableFuture().thenApply(values -> {
          Map<String, String> live = new ConcurrentHashMap<>();
          for (int i = 0; i < ids.size(); i++) {
            if (values.get(i).hasValue()) {
              live.put(ids.get(i), values.get(i).getValue());
            }
          }
          return new Directory(fields, live);
        });
      });
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private void sweepTick() {
    if (closed.get() || !sweepRunning.compareAndSet(false, true)) {
      return;
    }
    try {
      sweep().whenComplete((n, e) -> {
        sweepRunning.set(false);
        if (e != null) {
          log.debug("sweep failed", e);
        } else if (n > 0) {
          log.info("swept {} entries of dead instances", n);
        }
      });
    } catch (RuntimeException e) {
      sweepRunning.set(false);
      log.warn("sweep failed", e);
    }
  }

  @Override
  public CompletionStage<Long> sweep() {
    return mapped(liveIncarnations().thenCompose(dir -> {
      view = dir.live;
      CompletableFuture<Long> total = CompletableFuture.completedFuture(0L);
      for (String field : dir.fields.keySet()) {
        String id = Keys.instanceOf(field);
        String epoch = Keys.epochOf(field);
        if (!epoch.equals(dir.live.get(id))) {
          total = total.thenCompose(sum -> sweepEpoch(id, epoch).thenApply(n -> sum + n));
        }
      }
      return total;
    }), n -> n);
  }

  /** Sweeps every incarnation of {@code instanceId} in the directory other than {@code keep}. */
  private CompletableFuture<Long> sweepEpochsOf(String instanceId, String keep) {
    return redis.hgetall(keys.directory()).toCompletableFuture().thenCompose(fields -> {
      CompletableFuture<Long> total = CompletableFuture.completedFuture(0L);
      for (String field : fields.keySet()) {
        String epoch = Keys.epochOf(field);
        if (Keys.instanceOf(field).equals(instanceId) && !epoch.equals(keep)) {
          total = total.thenCompose(sum -> sweepEpoch(instanceId, epoch).thenApply(n -> sum + n));
        }
      }
      return total;
    });
  }

  /**
   * Removes the entries of one dead incarnation: pops its index in batches (so concurrent sweepers
   * share the work instead of repeating it) and deletes each user-hash field that still names this
   * incarnation; then drops its directory field. Work is bounded by the incarnation's connections.
   */
  private CompletableFuture<Long> sweepEpoch(String instanceId, String epoch) {
    String index = keys.index(instanceId, epoch);
    String entry = Keys.entry(instanceId, epoch);
    return redis.spop(index, SWEEP_BATCH).toCompletableFuture().thenCompose(members -> {
      if (members.isEmpty()) {
        return redis.hdel(keys.directory(), entry).toCompletableFuture().thenApply(n -> 0L);
      }
      List<CompletableFuture<Long>> deletes = new ArrayList<>(members.size());
      for (String member : members) {
        String[] parsed = Keys.parseMember(member);
        if (parsed != null) {
          deletes.add(Scripts.HDEL_IF.run(redis, keys.user(parsed[0]), parsed[1], entry));
        }
      }
      return CompletableFuture.allOf(deletes.toArray(CompletableFuture[]::new))
          .thenCompose(v -> {
            long removed = deletes.stream().mapToLong(CompletableFuture::join).sum();
            return sweepEpoch(instanceId, epoch).thenApply(n -> n + removed);
          });
    });
  }

  // ---- close ----

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    for (ScheduledFuture<?> task : tasks) {
      task.cancel(false);
    }
    if (ownScheduler) {
      scheduler.shutdownNow();
    }
    for (Attached a : attached.values()) {
      a.detached = true;
    }
    attached.clear();
    try {
      connection.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      resources.shutdown(0, 2, TimeUnit.SECONDS);
      flushes.shutdownNow();
    }
  }

  // ---- helpers ----

  private static String newEpoch() {
    return String.format("%016x", EPOCHS.nextLong());
  }

  private static IllegalStateException notAttached(String instanceId) {
    return new IllegalStateException(
        "instance not attached to this registry: " + instanceId + " (expected: attach() first)");
  }

  private static <A, B> CompletableFuture<Void> both(CompletableFuture<A> a, CompletableFuture<B> b) {
    CompletableFuture<Void> out = new CompletableFuture<>();
    a.whenComplete((x, e) -> {
      if (e != null) {
        out.completeExceptionally(translate(e));
      } else {
        b.whenComplete((y, e2) -> {
          if (e2 != null) {
            out.completeExceptionally(translate(e2));
          } else {
            out.complete(null);
          }
        });
      }
    });
    return out;
  }

  private static <T, R> CompletableFuture<R> mapped(CompletionStage<T> stage, Function<T, R> fn) {
    CompletableFuture<R> out = new CompletableFuture<>();
    stage.whenComplete((v, e) -> {
      if (e != null) {
        out.completeExceptionally(translate(e));
        return;
      }
      try {
        out.complete(fn.apply(v));
      } catch (RuntimeException ex) {
        out.completeExceptionally(translate(ex));
      }
    });
    return out;
  }

  /** Lettuce failures (timeouts, connection loss, rejected commands) become registry_unavailable. */
  static Throwable translate(Throwable e) {
    Throwable cause = Failures.unwrap(e);
    if (cause instanceof GatewayException) {
      return cause;
    }
    if (cause instanceof RedisCommandTimeoutException) {
      return new GatewayException(
          ErrorCodes.REGISTRY_UNAVAILABLE, "Redis registry: " + cause.getMessage(), cause);
    }
    if (cause instanceof RedisException) {
      return new GatewayException(
          ErrorCodes.REGISTRY_UNAVAILABLE, "Redis registry unavailable: " + cause.getMessage(), cause);
    }
    return cause;
  }

  /** An instance attached through this registry. */
  private static final class Attached {
    final String id;
    final InstanceContext context;
    volatile String epoch;
    volatile InstanceStatus status = InstanceStatus.RUNNING;
    volatile boolean detached;
    volatile boolean needsResync;
    volatile boolean resyncAgain;
    final AtomicBoolean resyncing = new AtomicBoolean();
    final Set<RegisteredConnection> unregisteredDuringResync = ConcurrentHashMap.newKeySet();

    Attached(InstanceContext context, String epoch) {
      this.id = context.instanceId();
      this.context = context;
      this.epoch = epoch;
    }
  }

  /** The directory's fields and which incarnation of each instance is live. */
  private record Directory(Map<String, String> fields, Map<String, String> live) {}

  /**
   * Notices a lost and regained connection. Lettuce also calls onRedisConnected for the first
   * connect, which must not count as a recovery; hence the flag set on disconnect.
   */
  private static final class ConnectionListener implements RedisConnectionStateListener {
    volatile RedisRegistryImpl registry;

    @Override
    public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
      RedisRegistryImpl r = registry;
      if (r != null && r.nearCache != null) {
        r.nearCache.trackingLost();
      }
      if (r != null && !r.closed.get() && r.connectionLost.compareAndSet(false, true)) {
        log.warn("connection to Redis lost; calls fail with registry_unavailable until it is back");
      }
    }

    @Override
    public void onRedisConnected(RedisChannelHandler<?, ?> connection) {
      RedisRegistryImpl r = registry;
      if (r != null && r.connectionLost.compareAndSet(true, false)) {
        // Off the I/O thread: the resync takes a snapshot of every live connection.
        r.scheduler.execute(r::onReconnected);
      }
    }
  }
}
