package io.wsgateway.rabbit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.BrokerException;
import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.EnvelopeHandler;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.testkit.Await;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Backend ingress is delivered in publish order per recipient, against a real RabbitMQ: a backend
 * publishes k = 1, 2, 3, ... to each of three users (each publish confirmed before the next) while
 * three instances consume, each through its own connection. The handler stands in for the gateway: it
 * records, per user, the order in which onIngress was called across all instances, and completes each
 * stage a little later on another thread, as routing would; the first call for each k fails with
 * NO_ROUTE every 97th message, to exercise retries in place.
 */
class IngressOrderTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int PER_USER = 1_000;
  private static final List<String> USERS = List.of("alice", "bob", "carol");

  private RabbitTestSupport rabbit;
  private final List<MessageBroker> brokers = new ArrayList<>();
  private final ScheduledExecutorService routing = Executors.newScheduledThreadPool(2);
  private final Recorder recorder = new Recorder();

  @BeforeEach
  void connect() throws Exception {
    rabbit = new RabbitTestSupport();
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (MessageBroker broker : brokers) {
      broker.close();
    }
    routing.shutdownNow();
    rabbit.close();
  }

  @Test
  @DisplayName("in steady state, with three instances consuming, each user receives every message once, in publish order")
  void steadyState() throws Exception {
    List<Instance> instances = attachThree();
    publishAll(null);
    awaitAll();
    for (String user : USERS) {
      assertEquals(expected(user), recorder.routed(user), user + ": routed exactly once each, in publish order");
    }
    assertEquals(List.of(), recorder.overlaps, "a call for a user while its previous stage was incomplete");
    assertTrue(instances.size() == 3);
  }

  @Test
  @DisplayName("when the active instance's endpoint is closed (drain) mid-stream, the order holds and nothing is lost or repeated")
  void drainMidStream() throws Exception {
    List<Instance> instances = attachThree();
    // The first to attach registered first on every queue: it is the active consumer.
    Instance active = instances.get(0);
    publishAll(() -> Await.success(TIMEOUT, "closing " + active.id, active.endpoint.close()));
    awaitAll();
    for (String user : USERS) {
      assertEquals(expected(user), recorder.routed(user), user + ": routed exactly once each, in publish order");
    }
    assertTrue(recorder.routedBy(active.id) > 0 && recorder.routedBy(active.id) < 3 * PER_USER,
        "the drained instance routed part of the stream, the others the rest: " + recorder.routedBy(active.id));
    assertEquals(List.of(), recorder.overlaps, "a call for a user while its previous stage was incomplete");
  }

  @Test
  @DisplayName("when the active instance's connection is force-closed mid-stream, the order holds and nothing is lost; repeats are only of messages already routed, so ids drop them")
  void connectionForceClosedMidStream() throws Exception {
    List<Instance> instances = attachThree();
    Instance active = instances.get(0);
    publishAll(() -> {
      try {
        assertEquals(1, RabbitTestSupport.closeConnection("wsgateway-" + active.id));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    awaitAll();
    for (String user : USERS) {
      List<Integer> routed = recorder.routed(user);
      // Drop repeats by id, as a session does with the ids it was sent.
      List<Integer> distinct = new ArrayList<>(new LinkedHashSet<>(routed));
      assertEquals(expected(user), distinct, user + ": every message, first routed in publish order");
      // A repeat is a redelivery of a message whose acknowledgement was lost with the connection:
      // at most what was unacknowledged then (prefetch per partition).
      assertTrue(routed.size() - distinct.size() <= 2 * RabbitBrokerOptions.DEFAULT_PREFETCH,
          user + ": " + (routed.size() - distinct.size()) + " repeats");
    }
  }

  // ------------------------------------------------------------------ helpers

  private record Instance(String id, BrokerEndpoint endpoint) {}

  private List<Instance> attachThree() {
    List<Instance> instances = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      MessageBroker broker = RabbitBroker.create(rabbit.options().recoveryInterval(Duration.ofMillis(200)).build());
      brokers.add(broker);
      String id = "order-" + i + "-" + System.nanoTime();
      BrokerEndpoint endpoint = Await.success(TIMEOUT, "attach " + id, broker.attach(id, recorder.handlerFor(id)));
      instances.add(new Instance(id, endpoint));
    }
    return instances;
  }

  /**
   * Publishes k = 1..PER_USER to every user in turn, each confirmed before the next; runs {@code
   * midway} (on the test thread) once a third of the messages has been routed, while publishing goes on.
   */
  private void publishAll(Runnable midway) throws Exception {
    CompletableFuture<Void> published = CompletableFuture.runAsync(() -> {
      try (Channel channel = rabbit.newChannel()) {
        channel.confirmSelect();
        for (int k = 1; k <= PER_USER; k++) {
          for (String user : USERS) {
            String body = "{\"to\":\"" + user + "\",\"id\":\"" + user + "-" + k + "\",\"data\":" + k + "}";
            channel.basicPublish(rabbit.prefix + ".ingress", "", new AMQP.BasicProperties.Builder()
                .contentType("application/json").deliveryMode(2).build(), body.getBytes(StandardCharsets.UTF_8));
            channel.waitForConfirmsOrDie(10_000);
          }
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    if (midway != null) {
      Await.until(TIMEOUT, "a third of the messages routed", recorder::routedCount, n -> n >= PER_USER);
      midway.run();
    }
    Await.success(TIMEOUT, "publishing", published);
  }

  private void awaitAll() {
    Await.until(TIMEOUT, "every message routed", () -> {
      Map<String, Integer> missing = new HashMap<>();
      for (String user : USERS) {
        Set<Integer> got = new HashSet<>(recorder.routed(user));
        missing.put(user, PER_USER - got.size());
      }
      return missing;
    }, m -> m.values().stream().allMatch(n -> n == 0));
  }

  private static List<Integer> expected(String user) {
    List<Integer> ks = new ArrayList<>();
    for (int k = 1; k <= PER_USER; k++) {
      ks.add(k);
    }
    return ks;
  }

  /**
   * Records, across instances, the order of successful onIngress calls per user, and any call for a
   * user made on an instance while that instance's previous stage for the user was incomplete.
   */
  private final class Recorder {
    private final Map<String, List<Integer>> routed = new HashMap<>();
    private final Map<String, Integer> routedByInstance = new HashMap<>();
    private final Map<String, Boolean> busy = new HashMap<>();
    private final Set<String> failedOnce = new HashSet<>();
    final List<String> overlaps = new CopyOnWriteArrayList<>();
    private int count;

    synchronized List<Integer> routed(String user) {
      return new ArrayList<>(routed.getOrDefault(user, List.of()));
    }

    synchronized int routedCount() {
      return count;
    }

    synchronized int routedBy(String instance) {
      return routedByInstance.getOrDefault(instance, 0);
    }

    EnvelopeHandler handlerFor(String instance) {
      return new EnvelopeHandler() {
        @Override
        public void onEnvelope(Envelope envelope) {}

        @Override
        public CompletionStage<Void> onIngress(Envelope envelope) {
          String user = envelope.target();
          int k = Integer.parseInt(envelope.dataAsString());
          String lane = instance + "/" + user;
          boolean fail;
          synchronized (Recorder.this) {
            if (Boolean.TRUE.equals(busy.put(lane, true))) {
              overlaps.add(lane + " k=" + k);
            }
            fail = k % 97 == 0 && failedOnce.add(envelope.id());
          }
          CompletableFuture<Void> stage = new CompletableFuture<>();
          // Routing takes a moment and completes on another thread.
          routing.schedule(() -> {
            synchronized (Recorder.this) {
              busy.put(lane, false);
              if (!fail) {
                routed.computeIfAbsent(user, u -> new ArrayList<>()).add(k);
                routedByInstance.merge(instance, 1, Integer::sum);
                count++;
              }
            }
            if (fail) {
              stage.completeExceptionally(new BrokerException(BrokerException.Reason.NO_ROUTE, "not found (test)"));
            } else {
              stage.complete(null);
            }
          }, ThreadLocalRandom.current().nextInt(200), TimeUnit.MICROSECONDS);
          return stage;
        }
      };
    }
  }
}
