package io.wsgateway.testkit.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InstanceStatus;
import io.wsgateway.registry.Presence;
import io.wsgateway.testkit.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The compatibility kit of the {@link ConnectionRegistry} SPI: every registry, ours and third
 * parties', extends it and passes it.
 *
 * <p>Subclasses provide {@link #newRegistry()}; a registry with an external store also provides
 * {@link #peerOf(ConnectionRegistry)} so rules about two instances run against two handles, as two
 * gateway processes would. Capabilities a registry lacks are declared by the {@code supports*}
 * methods, which skip the rule with a reason rather than fail it.
 *
 * <p>To check your registry, add {@code io.wsgateway:gateway-testkit} with test scope and extend
 * the kit in your test sources; JUnit runs every {@code @Nested} rule group against it:
 *
 * <pre>{@code
 * class MyRegistryTest extends ConnectionRegistryCompatibilityKit {
 *   @Override protected ConnectionRegistry newRegistry() { return MyRegistry.create(freshStore()); }
 *   @Override protected ConnectionRegistry peerOf(ConnectionRegistry r) { return MyRegistry.create(sameStoreAs(r)); }
 *   @Override protected boolean supportsLiveness() { return true; }
 *   @Override protected void lapse(ConnectionRegistry handle, String instanceId) { ... }
 * }
 * }</pre>
 *
 * <p>Each rule uses fresh registries that the kit closes after the rule. Instances always {@link
 * ConnectionRegistry#attach attach} before they register, as a gateway does. The kit runs on JUnit's
 * test thread and blocks only it, waiting for the registry's stages within {@link #callTimeout()}.
 */
public abstract class ConnectionRegistryCompatibilityKit {

  private final List<ConnectionRegistry> opened = new ArrayList<>();

  /** The registry under test: a new handle to a new, empty store. */
  protected abstract ConnectionRegistry newRegistry();

  /**
   * A second handle to the store of {@code registry}, standing for another gateway process. The
   * default returns {@code registry} itself, right for an embedded registry that one JVM shares.
   */
  protected ConnectionRegistry peerOf(ConnectionRegistry registry) {
    return registry;
  }

  /**
   * Whether instances that stop without unregistering lapse: true for registries that track
   * liveness (heartbeats, TTLs). Those also implement {@link #lapse}.
   */
  protected boolean supportsLiveness() {
    return false;
  }

  /**
   * Makes {@code instanceId}, attached through {@code handle}, stop as a crashed process would: no
   * unregister, no {@link InstanceStatus#GONE}; its liveness must then lapse. Called only when
   * {@link #supportsLiveness()} holds. A test may move a clock or expire a key here rather than
   * wait out a production TTL.
   */
  protected void lapse(ConnectionRegistry handle, String instanceId) {
    throw new UnsupportedOperationException("lapse");
  }

  /**
   * How long a change made through one handle may take to show through another; zero for a store
   * that is consistent at once. Rules poll up to this long where they look through a second handle.
   */
  protected Duration propagation() {
    return Duration.ofSeconds(5);
  }

  /** The bound of every single registry call in the kit. */
  protected Duration callTimeout() {
    return Duration.ofSeconds(10);
  }

  private ConnectionRegistry registry;
  private ConnectionRegistry peer;

  @BeforeEach
  void openRegistries() {
    registry = track(newRegistry());
    peer = track(peerOf(registry));
  }

  @AfterEach
  void closeRegistries() {
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close();
    }
    opened.clear();
  }

  private ConnectionRegistry track(ConnectionRegistry r) {
    opened.add(r);
    return r;
  }

  /** Waits for {@code stage} within {@link #callTimeout()} and returns its value. */
  protected final <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(callTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    } catch (ExecutionException e) {
      throw new AssertionError("registry call failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError("registry call did not complete within " + callTimeout(), e);
    }
  }

  /** Attaches a new instance of id {@code instanceId} through {@code handle}. */
  protected final TestInstanceContext attach(ConnectionRegistry handle, String instanceId) {
    TestInstanceContext instance = new TestInstanceContext(instanceId);
    await(handle.attach(instance));
    return instance;
  }

  private Set<String> eventuallyInstancesOf(
      ConnectionRegistry handle, String userId, Set<String> expected) {
    return Await.until(
        propagation(),
        "instancesOf(" + userId + ") == " + expected,
        () -> await(handle.instancesOf(userId)),
        expected::equals);
  }

  @Nested
  @DisplayName("register")
  class Register {

    @Test
    @DisplayName("a registered connection's instance is returned by instancesOf and counted by presence")
    void registeredIsVisible() {
      TestInstanceContext a = attach(registry, "instance-a");
      await(a.connect(registry, "c1", "alice"));

      assertEquals(Set.of("instance-a"), await(registry.instancesOf("alice")));
      Presence presence = await(registry.presence("alice"));
      assertEquals(new Presence("alice", 1, Set.of("instance-a")), presence);
      assertTrue(presence.online());
    }

    @Test
    @DisplayName("a registered connection is visible through every handle to the store")
    void visibleThroughPeer() {
      TestInstanceContext a = attach(registry, "instance-a");
      await(a.connect(registry, "c1", "alice"));

      eventuallyInstancesOf(peer, "alice", Set.of("instance-a"));
      assertEquals(1, await(peer.presence("alice")).connections());
    }

    @Test
    @DisplayName("registering the same connection twice counts it once")
    void registerIsIdempotent() {
      TestInstanceContext a = attach(registry, "instance-a");
      await(a.connect(registry, "c1", "alice"));
      await(a.connect(registry, "c1", "alice"));

      assertEquals(new Presence("alice", 1, Set.of("instance-a")), await(registry.presence("alice")));
    }
  }

  @Nested
  @DisplayName("two instances")
  class TwoInstances {

    @Test
    @DisplayName("two connections of one user on two instances return both instances and count two")
    void bothInstancesReturned() {
      TestInstanceContext a = attach(registry, "instance-a");
      TestInstanceContext b = attach(peer, "instance-b");
      await(a.connect(registry, "c1", "alice"));
      await(b.connect(peer, "c2", "alice"));

      eventuallyInstancesOf(registry, "alice", Set.of("instance-a", "instance-b"));
      eventuallyInstancesOf(peer, "alice", Set.of("instance-a", "instance-b"));
      assertEquals(
          new Presence("alice", 2, Set.of("instance-a", "instance-b")),
          await(registry.presence("alice")));
    }

    @Test
    @DisplayName("unregistering the connection on one instance leaves the other instance returned")
    void unregisterOneLeavesOther() {
      TestInstanceContext a = attach(registry, "instance-a");
      TestInstanceContext b = attach(peer, "instance-b");
      await(a.connect(registry, "c1", "alice"));
      await(b.connect(peer, "c2", "alice"));
      await(b.disconnect(peer, "c2", "alice"));

      assertEquals(Set.of("instance-a"), await(registry.instancesOf("alice")));
      assertEquals(new Presence("alice", 1, Set.of("instance-a")), await(peer.presence("alice")));
    }
  }

  @Nested
  @DisplayName("unregister")
  class Unregister {

    @Test
    @DisplayName("an unregistered connection is no longer returned or counted")
    void unregisterRemoves() {
      TestInstanceContext a = attach(registry, "instance-a");
      await(a.connect(registry, "c1", "alice"));
      await(a.disconnect(registry, "c1", "alice"));

      assertEquals(Set.of(), await(registry.instancesOf("alice")));
      assertEquals(new Presence("alice", 0, Set.of()), await(registry.presence("alice")));
    }

    @Test
    @DisplayName("unregistering twice, or a connection never registered, completes normally")
    void unregisterIsIdempotent() {
      TestInstanceContext a = attach(registry, "instance-a");
      await(a.connect(registry, "c1", "alice"));
      await(a.disconnect(registry, "c1", "alice"));
      await(a.disconnect(registry, "c1", "alice"));
      await(registry.unregister(a.connection("never-registered", "bob")));

      assertEquals(Set.of(), await(registry.instancesOf("alice")));
      assertEquals(Set.of(), await(registry.instancesOf("bob")));
    }

    @Test
    @DisplayName("unregistering one of a user's connections on an instance keeps the instance returned")
    void unregisterOneOfTwo() {
      TestInstanceContext a = attach(registry, "instance-a");
      await(a.connect(registry, "c1", "alice"));
      await(a.connect(registry, "c2", "alice"));
      await(a.disconnect(registry, "c1", "alice"));

      assertEquals(new Presence("alice", 1, Set.of("instance-a")), await(registry.presence("alice")));
    }
  }

  @Nested
  @DisplayName("unknown users")
  class UnknownUser {

    @Test
    @DisplayName("a user never registered has no instances and an offline presence")
    void unknownUserEmpty() {
      attach(registry, "instance-a");

      assertEquals(Set.of(), await(registry.instancesOf("nobody")));
      Presence presence = await(registry.presence("nobody"));
      assertEquals(new Presence("nobody", 0, Set.of()), presence);
      assertFalse(presence.online());
    }
  }

  @Nested
  @DisplayName("instance status")
  class Status {

    @Test
    @DisplayName("a GONE instance is never returned, and its entries are removed for good")
    void goneNeverReturned() {
      TestInstanceContext a = attach(registry, "instance-a");
      TestInstanceContext b = attach(peer, "instance-b");
      await(a.connect(registry, "c1", "alice"));
      await(b.connect(peer, "c2", "alice"));
      await(b.connect(peer, "c3", "bob"));

      await(peer.setInstanceStatus("instance-b", InstanceStatus.GONE));

      assertEquals(Set.of("instance-a"), await(peer.instancesOf("alice")));
      eventuallyInstancesOf(registry, "alice", Set.of("instance-a"));
      assertEquals(new Presence("alice", 1, Set.of("instance-a")), await(registry.presence("alice")));
      assertEquals(new Presence("bob", 0, Set.of()), await(registry.presence("bob")));

      // Removed, not hidden: a later instance of the same id does not bring them back.
      attach(peer, "instance-b");
      assertEquals(Set.of("instance-a"), await(peer.instancesOf("alice")));
      assertEquals(Set.of(), await(peer.instancesOf("bob")));
    }

    @Test
    @DisplayName("registrations made for an instance after it is GONE are not returned")
    void registrationsAfterGoneIgnored() {
      TestInstanceContext a = attach(registry, "instance-a");
      await(registry.setInstanceStatus("instance-a", InstanceStatus.GONE));

      // A registry may ignore the call or fail it; it must not record it.
      await(a.connect(registry, "c1", "alice").handle((v, e) -> null));

      assertEquals(Set.of(), await(registry.instancesOf("alice")));
      assertEquals(0, await(registry.presence("alice")).connections());
    }

    @Test
    @DisplayName("a DRAINING instance is still returned: it delivers to the clients it holds")
    void drainingStillReturned() {
      TestInstanceContext a = attach(registry, "instance-a");
      await(a.connect(registry, "c1", "alice"));
      await(registry.setInstanceStatus("instance-a", InstanceStatus.DRAINING));

      assertEquals(Set.of("instance-a"), await(registry.instancesOf("alice")));
      assertEquals(1, await(peer.presence("alice")).connections());
    }
  }

  @Nested
  @DisplayName("re-attach")
  class Reattach {

    @Test
    @DisplayName("a new attach of an instance id drops the entries of its predecessor of that id")
    void reattachDropsPredecessor() {
      TestInstanceContext first = attach(registry, "instance-a");
      await(first.connect(registry, "c1", "alice"));
      await(first.connect(registry, "c2", "bob"));

      // The process restarts: a new instance of the same id attaches, here through the peer handle.
      TestInstanceContext second = attach(peer, "instance-a");
      assertEquals(new Presence("alice", 0, Set.of()), await(peer.presence("alice")));
      assertEquals(Set.of(), await(peer.instancesOf("bob")));

      await(second.connect(peer, "c3", "alice"));
      assertEquals(new Presence("alice", 1, Set.of("instance-a")), await(peer.presence("alice")));
      Await.until(
          propagation(),
          "presence(alice) through the first handle counts only the successor's connection",
          () -> await(registry.presence("alice")),
          p -> p.connections() == 1);
    }
  }

  @Nested
  @DisplayName("presence")
  class PresenceCounts {

    @Test
    @DisplayName("presence counts each user's live connections, independently of other users")
    void countsPerUser() {
      TestInstanceContext a = attach(registry, "instance-a");
      TestInstanceContext b = attach(peer, "instance-b");
      await(a.connect(registry, "c1", "alice"));
      await(a.connect(registry, "c2", "alice"));
      await(b.connect(peer, "c3", "alice"));
      await(b.connect(peer, "c4", "bob"));

      Await.until(
          propagation(),
          "presence(alice)",
          () -> await(registry.presence("alice")),
          new Presence("alice", 3, Set.of("instance-a", "instance-b"))::equals);
      assertEquals(new Presence("bob", 1, Set.of("instance-b")), await(registry.presence("bob")));

      await(a.disconnect(registry, "c1", "alice"));
      assertEquals(
          new Presence("alice", 2, Set.of("instance-a", "instance-b")),
          await(registry.presence("alice")));
      assertEquals(1, await(registry.presence("bob")).connections());
    }
  }

  @Nested
  @DisplayName("liveness")
  class Liveness {

    @BeforeEach
    void requireLiveness() {
      assumeTrue(
          supportsLiveness(),
          "this registry tracks no liveness: its instances live until GONE or re-attached");
    }

    @Test
    @DisplayName("an instance that stops without unregistering is no longer returned once its liveness lapses")
    void lapsedInstanceNotReturned() {
      TestInstanceContext a = attach(registry, "instance-a");
      TestInstanceContext b = attach(peer, "instance-b");
      await(a.connect(registry, "c1", "alice"));
      await(b.connect(peer, "c2", "alice"));
      eventuallyInstancesOf(registry, "alice", Set.of("instance-a", "instance-b"));

      lapse(peer, "instance-b");

      eventuallyInstancesOf(registry, "alice", Set.of("instance-a"));
      assertEquals(new Presence("alice", 1, Set.of("instance-a")), await(registry.presence("alice")));
    }
  }

  @Nested
  @DisplayName("concurrency")
  class Concurrency {

    private static final int THREADS = 4;
    private static final int PER_THREAD = 250;
    private static final int USERS = 50;

    @Test
    @DisplayName("registrations from many threads at once are all visible, and so are their removals")
    void parallelRegistrationsAllVisible() throws Exception {
      TestInstanceContext a = attach(registry, "instance-a");
      TestInstanceContext b = attach(peer, "instance-b");

      runInParallel(t -> {
        ConnectionRegistry handle = t % 2 == 0 ? registry : peer;
        TestInstanceContext instance = t % 2 == 0 ? a : b;
        List<CompletableFuture<Void>> stages = new ArrayList<>();
        for (int i = 0; i < PER_THREAD; i++) {
          stages.add(
              instance
                  .connect(handle, "c-" + t + "-" + i, "user-" + (i % USERS))
                  .toCompletableFuture());
        }
        await(CompletableFuture.allOf(stages.toArray(CompletableFuture[]::new)));
      });

      int total = 0;
      for (int u = 0; u < USERS; u++) {
        Presence p = await(registry.presence("user-" + u));
        assertEquals(Set.of("instance-a", "instance-b"), p.instances(), "user-" + u);
        total += p.connections();
      }
      assertEquals(THREADS * PER_THREAD, total);

      runInParallel(t -> {
        ConnectionRegistry handle = t % 2 == 0 ? registry : peer;
        TestInstanceContext instance = t % 2 == 0 ? a : b;
        List<CompletableFuture<Void>> stages = new ArrayList<>();
        for (int i = 0; i < PER_THREAD; i++) {
          stages.add(
              instance
                  .disconnect(handle, "c-" + t + "-" + i, "user-" + (i % USERS))
                  .toCompletableFuture());
        }
        await(CompletableFuture.allOf(stages.toArray(CompletableFuture[]::new)));
      });

      for (int u = 0; u < USERS; u++) {
        assertEquals(0, await(peer.presence("user-" + u)).connections(), "user-" + u);
      }
    }

    private void runInParallel(ThreadTask task) throws Exception {
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
          int thread = t;
          futures.add(pool.submit(() -> task.run(thread)));
        }
        for (Future<?> f : futures) {
          f.get(callTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @FunctionalInterface
  private interface ThreadTask {
    void run(int thread);
  }
}
