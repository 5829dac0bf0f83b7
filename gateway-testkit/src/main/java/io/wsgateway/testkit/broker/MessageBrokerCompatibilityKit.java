package io.wsgateway.testkit.broker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.BrokerException;
import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.testkit.Await;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link MessageBroker} keeps, as an abstract JUnit 5 test: extend it, implement
 * {@link #newBroker()}, and override a capability method only to skip a rule your broker documents it
 * does not keep.
 *
 * <p>Each test simulates gateway instances in separate JVMs: every instance is attached through its own
 * broker handle from {@link #newBroker()}, and the handles of one test must share one backend. The kit
 * closes every endpoint and handle it made after each test. Waits poll against {@link #timeout()}; no
 * rule relies on a fixed sleep. To show that an instance received <em>nothing</em>, the kit first
 * waits until the same envelope reached an instance that should get it, then sends a marker to the
 * silent instance and waits for that: an instance that was going to get the envelope would have had it
 * by then.
 *
 * <p>To check your broker, add {@code io.wsgateway:gateway-testkit} with test scope and extend the
 * kit in your test sources; JUnit runs every {@code @Nested} rule group against it:
 *
 * <pre>{@code
 * class MyBrokerTest extends MessageBrokerCompatibilityKit {
 *   @Override protected MessageBroker newBroker() { return MyBroker.create(sharedBackend()); }
 *   // Only if your broker fails sendToInstance to an unknown instance before returning:
 *   @Override protected boolean detectsNoRouteBeforeReturning() { return true; }
 * }
 * }</pre>
 *
 * <p>The kit runs on JUnit's test thread and blocks only it; the broker's handlers are called on the
 * broker's own threads and record into a thread-safe {@link RecordingHandler}.
 */
public abstract class MessageBrokerCompatibilityKit {

  private final List<MessageBroker> brokers = Collections.synchronizedList(new ArrayList<>());
  private final List<BrokerEndpoint> endpoints = Collections.synchronizedList(new ArrayList<>());
  private final String run = UUID.randomUUID().toString().substring(0, 8);
  private int sequence;

  /**
   * A handle to the broker under test. Every call in one test must return a handle to the same backend
   * (for a networked broker, a new client as another JVM would create; an in-process broker may return
   * the same object each time). The kit closes every handle after the test.
   */
  protected abstract MessageBroker newBroker() throws Exception;

  /**
   * Whether {@code sendToInstance} to an unknown instance returns an already-failed stage. A broker
   * that learns of the missing inbox only from the server (RabbitMQ's basic.return) returns {@code
   * false}; it must still fail the stage with {@code NO_ROUTE}, later.
   */
  protected boolean detectsNoRouteBeforeReturning() {
    return false;
  }

  /**
   * Whether the broker takes backend ingress and orders it per recipient; if so, override {@link
   * #publishIngress} too. Default: {@code false}, which skips the ingress rules.
   */
  protected boolean supportsOrderedIngress() {
    return false;
  }

  /**
   * Publishes one ingress message as a backend would, {@code {"to": user, "id": id, "data": k}}, and
   * returns once the broker accepted it (e.g. a publisher confirm), so that successive calls are
   * published in order. Only called if {@link #supportsOrderedIngress()}.
   */
  protected void publishIngress(String user, String id, int k) throws Exception {
    throw new UnsupportedOperationException("publishIngress: override it with supportsOrderedIngress()");
  }

  /** How long any single wait may take. Default: 10 seconds. */
  protected Duration timeout() {
    return Duration.ofSeconds(10);
  }

  /** How many envelopes the volume rule sends. Default: 10,000. */
  protected int manyEnvelopes() {
    return 10_000;
  }

  @AfterEach
  void closeEverything() {
    List<BrokerEndpoint> toClose;
    synchronized (endpoints) {
      toClose = new ArrayList<>(endpoints);
      endpoints.clear();
    }
    for (BrokerEndpoint endpoint : toClose) {
      Await.success(timeout(), "closing an endpoint", endpoint.close());
    }
    List<MessageBroker> handles;
    synchronized (brokers) {
      handles = new ArrayList<>(brokers);
      brokers.clear();
    }
    for (MessageBroker broker : handles) {
      broker.close();
    }
  }

  /** A gateway instance under test: its id, its endpoint and what its handler received. */
  protected static final class Instance {
    public final String id;
    public final BrokerEndpoint endpoint;
    public final RecordingHandler handler;
    public final MessageBroker broker;

    Instance(String id, BrokerEndpoint endpoint, RecordingHandler handler, MessageBroker broker) {
      this.id = id;
      this.endpoint = endpoint;
      this.handler = handler;
      this.broker = broker;
    }

    @Override
    public String toString() {
      return id;
    }
  }

  /** A new broker handle, closed by the kit after the test. */
  protected final MessageBroker broker() throws Exception {
    MessageBroker broker = newBroker();
    brokers.add(broker);
    return broker;
  }

  /** Attaches a new instance with a unique id through its own broker handle. */
  protected final Instance attach(String name) throws Exception {
    MessageBroker broker = broker();
    String id = unique(name);
    RecordingHandler handler = new RecordingHandler();
    BrokerEndpoint endpoint = Await.success(timeout(), "attach " + id, broker.attach(id, handler));
    endpoints.add(endpoint);
    return new Instance(id, endpoint, handler, broker);
  }

  /** A name no other test of this run uses (topics and instance ids may share a backend). */
  protected final synchronized String unique(String name) {
    return "kit-" + run + "-" + name + "-" + (++sequence);
  }

  /** An envelope to user {@code u1} with a small JSON payload naming its id. */
  protected static Envelope envelope(String id) {
    return Envelope.toUser(id, "u1", "sender", json("{\"id\":\"" + id + "\"}"), "origin-instance");
  }

  /** An envelope to {@code topic} with a small JSON payload naming its id. */
  protected static Envelope topicEnvelope(String id, String topic) {
    return Envelope.toTopic(id, topic, "sender", json("{\"id\":\"" + id + "\"}"), "origin-instance");
  }

  private static byte[] json(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Waits until {@code instance} has received an envelope with {@code id}. */
  protected final void awaitReceived(Instance instance, String id) {
    Await.until(timeout(), instance + " to receive " + id, () -> instance.handler, h -> h.received(id));
  }

  /**
   * Sends a marker from {@code from} to {@code to} and waits until it arrived: whatever the broker had
   * routed to {@code to} before has been delivered by then.
   */
  protected final void fence(Instance from, Instance to) {
    String marker = unique("fence");
    Await.success(timeout(), "fence send", from.endpoint.sendToInstance(to.id, envelope(marker)));
    awaitReceived(to, marker);
  }

  /** The ids {@code instance} received, without the fences. */
  private static List<String> idsWithoutFences(Instance instance) {
    List<String> ids = new ArrayList<>();
    for (String id : instance.handler.ids()) {
      if (!id.contains("-fence-")) {
        ids.add(id);
      }
    }
    return ids;
  }

  private static BrokerException.Reason reasonOf(Throwable failure) {
    BrokerException e = assertInstanceOf(BrokerException.class, failure, "stage failure");
    return e.reason();
  }

  private void awaitAll(String what, List<CompletableFuture<Void>> stages, Duration timeout) {
    Await.success(timeout, what, CompletableFuture.allOf(stages.toArray(new CompletableFuture<?>[0])));
  }

  @Nested
  @DisplayName("sendToInstance")
  class SendToInstance {

    @Test
    @DisplayName("an envelope sent to an attached instance reaches that instance's handler and no other")
    void deliversToTargetOnly() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      Instance c = attach("c");
      String id = unique("m");

      Await.success(timeout(), "send a->b", a.endpoint.sendToInstance(b.id, envelope(id)));

      awaitReceived(b, id);
      fence(a, c);
      fence(b, a);
      assertEquals(List.of(id), idsWithoutFences(b), "b received");
      assertEquals(List.of(), idsWithoutFences(c), "c must receive nothing");
      assertEquals(List.of(), idsWithoutFences(a), "the sender must receive nothing");
      assertTrue(b.handler.ingress().isEmpty(), "an instance-to-instance envelope is not ingress");
    }

    @Test
    @DisplayName("an instance can send to its own inbox")
    void deliversToSelf() throws Exception {
      Instance a = attach("a");
      String id = unique("m");
      Await.success(timeout(), "send a->a", a.endpoint.sendToInstance(a.id, envelope(id)));
      awaitReceived(a, id);
    }

    @Test
    @DisplayName("envelopes from one sender to one instance arrive in the order they were sent")
    void preservesOrderPerSenderAndReceiver() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      List<String> sent = new ArrayList<>();
      List<CompletableFuture<Void>> stages = new ArrayList<>();
      for (int i = 0; i < 1_000; i++) {
        String id = "order-" + i;
        sent.add(id);
        stages.add(a.endpoint.sendToInstance(b.id, envelope(id)).toCompletableFuture());
      }
      awaitAll("1,000 sends", stages, timeout());
      Await.until(timeout(), "b to receive 1,000 envelopes", () -> b.handler, h -> h.count() >= sent.size());
      assertEquals(sent, b.handler.ids());
    }
  }

  @Nested
  @DisplayName("sendToInstance to an unknown instance")
  class NoRoute {

    @Test
    @DisplayName("fails the stage with NO_ROUTE, never silently")
    void failsWithNoRoute() throws Exception {
      Instance a = attach("a");
      Throwable failure = Await.failure(timeout(), "send to an unknown instance",
          a.endpoint.sendToInstance(unique("nobody"), envelope(unique("m"))));
      assertEquals(BrokerException.Reason.NO_ROUTE, reasonOf(failure));
    }

    @Test
    @DisplayName("fails before the call returns, when the broker can know at once")
    void failsBeforeReturning() throws Exception {
      Assumptions.assumeTrue(detectsNoRouteBeforeReturning(),
          "this broker learns of a missing inbox only from its server, after the call returned");
      Instance a = attach("a");
      CompletableFuture<Void> stage =
          a.endpoint.sendToInstance(unique("nobody"), envelope(unique("m"))).toCompletableFuture();
      assertTrue(stage.isCompletedExceptionally(), "stage already failed");
      assertEquals(BrokerException.Reason.NO_ROUTE, reasonOf(Await.failure(timeout(), "send", stage)));
    }

    @Test
    @DisplayName("leaves the sender's endpoint working: the next send to a live instance is delivered")
    void senderStillWorks() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      String lost = unique("lost");
      String kept = unique("kept");
      CompletionStage<Void> failed = a.endpoint.sendToInstance(unique("nobody"), envelope(lost));
      CompletionStage<Void> sent = a.endpoint.sendToInstance(b.id, envelope(kept));
      assertEquals(BrokerException.Reason.NO_ROUTE, reasonOf(Await.failure(timeout(), "send to nobody", failed)));
      Await.success(timeout(), "send a->b", sent);
      awaitReceived(b, kept);
      assertEquals(List.of(kept), b.handler.ids());
    }
  }

  @Nested
  @DisplayName("publish")
  class Publish {

    @Test
    @DisplayName("reaches every subscribed instance, the publisher included, and no unsubscribed instance")
    void reachesSubscribersOnly() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      Instance c = attach("c");
      String topic = unique("topic");
      Await.success(timeout(), "a subscribes", a.endpoint.subscribe(topic));
      Await.success(timeout(), "b subscribes", b.endpoint.subscribe(topic));
      String id = unique("m");

      Await.success(timeout(), "publish", a.endpoint.publish(topic, topicEnvelope(id, topic)));

      awaitReceived(a, id);
      awaitReceived(b, id);
      fence(a, c);
      assertEquals(List.of(), idsWithoutFences(c), "an unsubscribed instance must receive nothing");
      fence(b, a);
      fence(a, b);
      assertEquals(List.of(id), idsWithoutFences(a), "a receives the envelope once");
      assertEquals(List.of(id), idsWithoutFences(b), "b receives the envelope once");
    }

    @Test
    @DisplayName("to a topic nobody subscribes completes normally: no subscriber is not an error")
    void publishWithoutSubscribers() throws Exception {
      Instance a = attach("a");
      String topic = unique("topic");
      Await.success(timeout(), "publish", a.endpoint.publish(topic, topicEnvelope(unique("m"), topic)));
      fence(a, a);
      assertEquals(List.of(), idsWithoutFences(a));
    }

    @Test
    @DisplayName("envelopes published by one sender arrive at each subscriber in the order they were published")
    void preservesOrder() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      String topic = unique("topic");
      Await.success(timeout(), "b subscribes", b.endpoint.subscribe(topic));
      List<String> sent = new ArrayList<>();
      List<CompletableFuture<Void>> stages = new ArrayList<>();
      for (int i = 0; i < 1_000; i++) {
        String id = "order-" + i;
        sent.add(id);
        stages.add(a.endpoint.publish(topic, topicEnvelope(id, topic)).toCompletableFuture());
      }
      awaitAll("1,000 publishes", stages, timeout());
      Await.until(timeout(), "b to receive 1,000 envelopes", () -> b.handler, h -> h.count() >= sent.size());
      assertEquals(sent, b.handler.ids());
    }
  }

  @Nested
  @DisplayName("subscribe and unsubscribe")
  class Subscriptions {

    @Test
    @DisplayName("after unsubscribe completes, the instance receives nothing more from the topic; others still do")
    void unsubscribeStopsDelivery() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      String topic = unique("topic");
      Await.success(timeout(), "a subscribes", a.endpoint.subscribe(topic));
      Await.success(timeout(), "b subscribes", b.endpoint.subscribe(topic));
      String before = unique("before");
      Await.success(timeout(), "publish", a.endpoint.publish(topic, topicEnvelope(before, topic)));
      awaitReceived(b, before);

      Await.success(timeout(), "b unsubscribes", b.endpoint.unsubscribe(topic));
      String after = unique("after");
      Await.success(timeout(), "publish", a.endpoint.publish(topic, topicEnvelope(after, topic)));

      awaitReceived(a, after);
      fence(a, b);
      assertEquals(List.of(before), idsWithoutFences(b));
    }

    @Test
    @DisplayName("subscribing twice is idempotent: each envelope arrives once")
    void subscribeIsIdempotent() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      String topic = unique("topic");
      Await.success(timeout(), "b subscribes", b.endpoint.subscribe(topic));
      Await.success(timeout(), "b subscribes again", b.endpoint.subscribe(topic));
      String id = unique("m");
      Await.success(timeout(), "publish", a.endpoint.publish(topic, topicEnvelope(id, topic)));
      awaitReceived(b, id);
      fence(a, b);
      assertEquals(List.of(id), idsWithoutFences(b));
    }

    @Test
    @DisplayName("unsubscribing twice, or from a topic never subscribed, completes normally")
    void unsubscribeIsIdempotent() throws Exception {
      Instance a = attach("a");
      String topic = unique("topic");
      Await.success(timeout(), "unsubscribe, never subscribed", a.endpoint.unsubscribe(topic));
      Await.success(timeout(), "subscribe", a.endpoint.subscribe(topic));
      Await.success(timeout(), "unsubscribe", a.endpoint.unsubscribe(topic));
      Await.success(timeout(), "unsubscribe again", a.endpoint.unsubscribe(topic));
      Await.success(timeout(), "publish", a.endpoint.publish(topic, topicEnvelope(unique("m"), topic)));
      fence(a, a);
      assertEquals(List.of(), idsWithoutFences(a));
    }

    @Test
    @DisplayName("subscribing again after unsubscribe resumes delivery")
    void resubscribeResumes() throws Exception {
      Instance a = attach("a");
      String topic = unique("topic");
      Await.success(timeout(), "subscribe", a.endpoint.subscribe(topic));
      Await.success(timeout(), "unsubscribe", a.endpoint.unsubscribe(topic));
      Await.success(timeout(), "subscribe again", a.endpoint.subscribe(topic));
      String id = unique("m");
      Await.success(timeout(), "publish", a.endpoint.publish(topic, topicEnvelope(id, topic)));
      awaitReceived(a, id);
    }
  }

  @Nested
  @DisplayName("a closed endpoint")
  class Closed {

    @Test
    @DisplayName("fails sendToInstance, publish and subscribe with CLOSED")
    void failsOperationsWithClosed() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      Await.success(timeout(), "close a", a.endpoint.close());
      String topic = unique("topic");
      assertEquals(BrokerException.Reason.CLOSED, reasonOf(Await.failure(timeout(), "sendToInstance",
          a.endpoint.sendToInstance(b.id, envelope(unique("m"))))));
      assertEquals(BrokerException.Reason.CLOSED, reasonOf(Await.failure(timeout(), "publish",
          a.endpoint.publish(topic, topicEnvelope(unique("m"), topic)))));
      assertEquals(BrokerException.Reason.CLOSED, reasonOf(Await.failure(timeout(), "subscribe",
          a.endpoint.subscribe(topic))));
      fence(b, b);
      assertEquals(List.of(), idsWithoutFences(b), "nothing a tried to send after close arrives");
    }

    @Test
    @DisplayName("receives nothing: its handler is not called for its topics or its inbox")
    void receivesNothing() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      String topic = unique("topic");
      Await.success(timeout(), "a subscribes", a.endpoint.subscribe(topic));
      Await.success(timeout(), "b subscribes", b.endpoint.subscribe(topic));
      Await.success(timeout(), "close b", b.endpoint.close());

      CompletableFuture<Void> direct = a.endpoint.sendToInstance(b.id, envelope(unique("direct"))).toCompletableFuture();
      String published = unique("published");
      Await.success(timeout(), "publish", a.endpoint.publish(topic, topicEnvelope(published, topic)));
      awaitReceived(a, published);
      Await.until(timeout(), "the send to the closed instance to complete", () -> direct, CompletableFuture::isDone);
      if (direct.isCompletedExceptionally()) {
        assertEquals(BrokerException.Reason.NO_ROUTE, reasonOf(Await.failure(timeout(), "send", direct)));
      }
      fence(a, a);
      assertEquals(List.of(), b.handler.ids(), "a closed endpoint's handler must not be called");
    }

    @Test
    @DisplayName("closes idempotently")
    void closeIsIdempotent() throws Exception {
      Instance a = attach("a");
      Await.success(timeout(), "close", a.endpoint.close());
      Await.success(timeout(), "close again", a.endpoint.close());
    }

    @Test
    @DisplayName("a closed broker fails attach with CLOSED")
    void closedBrokerRefusesAttach() throws Exception {
      MessageBroker broker = broker();
      broker.close();
      Throwable failure = Await.failure(timeout(), "attach", broker.attach(unique("late"), new RecordingHandler()));
      assertEquals(BrokerException.Reason.CLOSED, reasonOf(failure));
    }
  }

  @Nested
  @DisplayName("envelopes")
  class Envelopes {

    @Test
    @DisplayName("keep every field across the trip: id, kind, target, from (also null), data bytes and origin (also null)")
    void fieldsSurvive() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      String topic = unique("topic");
      Await.success(timeout(), "b subscribes", b.endpoint.subscribe(topic));
      byte[] payload = "{\"text\":\"h\u00e9llo \u2713 \ud83d\ude00\",\"n\":[1,2.5,null]}".getBytes(StandardCharsets.UTF_8);
      Envelope toUser = Envelope.toUser(unique("user"), "user-\u00fc", null, payload, a.id);
      Envelope toTopic = Envelope.toTopic(unique("topic"), topic, "sender-\u00e9", "[]".getBytes(StandardCharsets.UTF_8), null);

      Await.success(timeout(), "send", a.endpoint.sendToInstance(b.id, toUser));
      Await.success(timeout(), "publish", a.endpoint.publish(topic, toTopic));
      awaitReceived(b, toUser.id());
      awaitReceived(b, toTopic.id());

      for (Envelope sent : List.of(toUser, toTopic)) {
        Envelope got = b.handler.envelopes().stream().filter(e -> e.id().equals(sent.id())).findFirst().orElseThrow();
        assertEquals(sent.kind(), got.kind(), "kind");
        assertEquals(sent.target(), got.target(), "target");
        assertEquals(sent.from(), got.from(), "from");
        assertEquals(sent.origin(), got.origin(), "origin");
        assertArrayEquals(sent.data(), got.data(), "data");
      }
      Envelope got = b.handler.envelopes().stream().filter(e -> e.id().equals(toUser.id())).findFirst().orElseThrow();
      assertNull(got.from(), "a null from stays null");
    }

    @Test
    @DisplayName("a payload of 512 KiB arrives intact")
    void largePayload() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      StringBuilder json = new StringBuilder("[");
      while (json.length() < 512 * 1024) {
        json.append("\"abcdefghijklmnopqrstuvwxyz0123456789\",");
      }
      json.append("1]");
      byte[] payload = json.toString().getBytes(StandardCharsets.UTF_8);
      Envelope big = Envelope.toUser(unique("big"), "u1", null, payload, a.id);
      Await.success(timeout(), "send", a.endpoint.sendToInstance(b.id, big));
      awaitReceived(b, big.id());
      assertArrayEquals(payload, b.handler.envelopes().get(0).data());
    }
  }

  @Nested
  @DisplayName("backend ingress")
  class Ingress {

    @Test
    @DisplayName("messages for one user, published in order, are handed to onIngress in that order, one at a time (the next only once the previous stage completed), across three attached instances")
    void orderedPerRecipient() throws Exception {
      Assumptions.assumeTrue(supportsOrderedIngress(), "this broker does not order backend ingress");
      String user = unique("user");
      List<Integer> calls = Collections.synchronizedList(new ArrayList<>());
      List<String> overlaps = Collections.synchronizedList(new ArrayList<>());
      java.util.concurrent.atomic.AtomicBoolean busy = new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.ScheduledExecutorService later = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
      try {
        for (int i = 0; i < 3; i++) {
          MessageBroker broker = broker();
          String id = unique("ingress");
          BrokerEndpoint endpoint = Await.success(timeout(), "attach " + id, broker.attach(id, new io.wsgateway.broker.EnvelopeHandler() {
            @Override
            public void onEnvelope(Envelope envelope) {}

            @Override
            public CompletionStage<Void> onIngress(Envelope envelope) {
              if (!envelope.target().equals(user)) {
                return CompletableFuture.completedFuture(null);
              }
              int k = Integer.parseInt(envelope.dataAsString());
              if (!busy.compareAndSet(false, true)) {
                overlaps.add("k=" + k);
              }
              calls.add(k);
              CompletableFuture<Void> stage = new CompletableFuture<>();
              // Routing takes a moment: the next call must wait for this stage.
              later.schedule(() -> {
                busy.set(false);
                stage.complete(null);
              }, 100, java.util.concurrent.TimeUnit.MICROSECONDS);
              return stage;
            }
          }));
          endpoints.add(endpoint);
        }
        List<Integer> expected = new ArrayList<>();
        for (int k = 1; k <= 300; k++) {
          publishIngress(user, user + "-" + k, k);
          expected.add(k);
        }
        Await.until(timeout(), "300 ingress messages handed over", () -> calls.size(), n -> n >= 300);
        assertEquals(expected, new ArrayList<>(calls), "in publish order, each once");
        assertEquals(List.of(), overlaps, "a call while the previous stage for the user was incomplete");
      } finally {
        later.shutdownNow();
      }
    }
  }

  @Nested
  @DisplayName("under volume")
  class Volume {

    @Test
    @DisplayName("many envelopes sent back to back all arrive exactly once, in order, and every stage completes")
    void manyArriveExactlyOnce() throws Exception {
      Instance a = attach("a");
      Instance b = attach("b");
      int n = manyEnvelopes();
      List<String> sent = new ArrayList<>(n);
      List<CompletableFuture<Void>> stages = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        String id = "v-" + i;
        sent.add(id);
        stages.add(a.endpoint.sendToInstance(b.id, envelope(id)).toCompletableFuture());
      }
      Duration longer = timeout().multipliedBy(3);
      awaitAll(n + " sends", stages, longer);
      Await.until(longer, "b to receive " + n + " envelopes", () -> b.handler, h -> h.count() >= n);
      fence(a, b);
      List<String> received = idsWithoutFences(b);
      Set<String> distinct = new HashSet<>(received);
      if (distinct.size() != received.size()) {
        fail("duplicates: received " + received.size() + " envelopes, " + distinct.size() + " distinct");
      }
      assertEquals(sent, received, "every envelope exactly once, in order");
    }
  }
}
