package io.wsgateway.internal;

import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InstanceContext;
import io.wsgateway.registry.InstanceStatus;
import io.wsgateway.registry.Presence;
import io.wsgateway.registry.RegisteredConnection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/** The in-memory registry: user -> connection id -> instance, plus instance states. */
public final class InMemoryRegistryImpl implements ConnectionRegistry {

  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);
  private static final CompletableFuture<Set<String>> NOWHERE = CompletableFuture.completedFuture(Set.of());

  // Per-user maps under a concurrent map: operations on one user touch only that user's entry.
  private final Map<String, Map<String, String>> byUser = new ConcurrentHashMap<>();
  private final Map<String, InstanceStatus> instances = new ConcurrentHashMap<>();
  /** Per instance, the answer "only on that instance", shared by every lookup that gets it. */
  private final Map<String, CompletableFuture<Set<String>>> onlyOn = new ConcurrentHashMap<>();

  @Override
  public CompletionStage<Void> register(RegisteredConnection c) {
    if (instances.get(c.instanceId()) == InstanceStatus.GONE) {
      return DONE;
    }
    byUser.compute(c.userId(), (user, conns) -> {
      // Sized for one connection, the usual case: the default table of 16 costs ~56 B more per user.
      Map<String, String> m = conns == null ? new ConcurrentHashMap<>(1) : conns;
      m.put(c.connectionId(), c.instanceId());
      return m;
    });
    return DONE;
  }

  @Override
  public CompletionStage<Void> unregister(RegisteredConnection c) {
    byUser.computeIfPresent(c.userId(), (user, conns) -> {
      conns.remove(c.connectionId(), c.instanceId());
      return conns.isEmpty() ? null : conns;
    });
    return DONE;
  }

  @Override
  public CompletionStage<Set<String>> instancesOf(String userId) {
    // Looked up once per routed message: the usual answer (one instance, or none) is a shared,
    // completed future, so a lookup allocates nothing but the iterator.
    Map<String, String> conns = byUser.get(userId);
    if (conns == null) {
      return NOWHERE;
    }
    String only = null;
    for (String instance : conns.values()) {
      if (instances.get(instance) == InstanceStatus.GONE) {
        continue;
      }
      if (only == null) {
        only = instance;
      } else if (!only.equals(instance)) {
        return CompletableFuture.completedFuture(presenceOf(userId).instances());
      }
    }
    return only == null ? NOWHERE : onlyOn.computeIfAbsent(only, i -> CompletableFuture.completedFuture(Set.of(i)));
  }

  @Override
  public CompletionStage<Presence> presence(String userId) {
    return CompletableFuture.completedFuture(presenceOf(userId));
  }

  private Presence presenceOf(String userId) {
    Map<String, String> conns = byUser.get(userId);
    if (conns == null) {
      return new Presence(userId, 0, Set.of());
    }
    Set<String> live = new HashSet<>();
    int count = 0;
    for (String instance : conns.values()) {
      if (instances.get(instance) != InstanceStatus.GONE) {
        live.add(instance);
        count++;
      }
    }
    return new Presence(userId, count, live);
  }

  @Override
  public CompletionStage<Void> attach(InstanceContext instance) {
    removeInstance(instance.instanceId());
    instances.put(instance.instanceId(), InstanceStatus.RUNNING);
    return DONE;
  }

  @Override
  public CompletionStage<Void> setInstanceStatus(String instanceId, InstanceStatus status) {
    if (status == InstanceStatus.GONE) {
      removeInstance(instanceId);
    }
    instances.put(instanceId, status);
    return DONE;
  }

  private void removeInstance(String instanceId) {
    onlyOn.remove(instanceId);
    for (String user : byUser.keySet()) {
      byUser.computeIfPresent(user, (u, conns) -> {
        conns.values().removeIf(instanceId::equals);
        return conns.isEmpty() ? null : conns;
      });
    }
  }
}
