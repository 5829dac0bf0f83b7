package io.wsgateway.rabbit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.BrokerException;
import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.testkit.Await;
import io.wsgateway.testkit.broker.RecordingHandler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** What the RabbitMQ broker does beyond the broker contract, against a real RabbitMQ. */
class RabbitBrokerTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static RabbitTestSupport rabbit;
  private static final AtomicInteger ids = new AtomicInteger();

  private final List<MessageBroker> brokers = new ArrayList<>();

  @BeforeAll
  static void connect() throws Exception {
    rabbit = new RabbitTestSupport();
  }

  @AfterAll
  static void deleteTopology() throws Exception {
    rabbit.close();
  }

  @AfterEach
  void closeBrokers() {
    for (MessageBroker broker : brokers) {
      broker.close();
    }
  }

  /** An attached instance on its own broker (its own connection). */
  private record Instance(String id, BrokerEndpoint endpoint, RecordingHandler handler) {}

  private Instance attach(RabbitBrokerOptions options) {
    MessageBroker broker = RabbitBroker.create(options);
    brokers.add(broker);
    String id = "rt-" + ids.incrementAndGet() + "-" + System.nanoTime();
    RecordingHandler handler = new RecordingHandler();
    BrokerEndpoint endpoint = Await.success(TIMEOUT, "attach " + id, broker.attach(id, handler));
    return new Instance(id, endpoint, handler);
  }

  private Instance attach() {
    return attach(rabbit.options().build());
  }

  private static Envelope envelope(String id) {
    return Envelope.toUser(id, "u1", "sender", ("{\"id\":\"" + id + "\"}").getBytes(StandardCharsets.UTF_8), "origin");
  }

  private static BrokerException.Reason reasonOf(Throwable t) {
    return assertInstanceOf(BrokerException.class, t).reason();
  }

  @Nested
  @DisplayName("batching")
  class Batching {

    @Test
    @DisplayName("10,000 envelopes sent back to back arrive exactly once and in order, in far fewer broker messages")
    void batchesUnderLoad() throws Exception {
      Instance a = attach();
      Instance b = attach();
      // A spy queue beside b's inbox counts the broker messages a publishes to b.
      Channel spy = rabbit.newChannel();
      String spyQueue = spy.queueDeclare().getQueue();
      spy.queueBind(spyQueue, rabbit.prefix + ".inbox", b.id());
      int n = 10_000;
      List<String> sent = new ArrayList<>(n);
      List<CompletableFuture<Void>> stages = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        sent.add("load-" + i);
        stages.add(a.endpoint().sendToInstance(b.id(), envelope("load-" + i)).toCompletableFuture());
      }
      Await.success(TIMEOUT, "10,000 confirms", CompletableFuture.allOf(stages.toArray(new CompletableFuture<?>[0])));
      Await.until(TIMEOUT, "b to receive 10,000", () -> b.handler().count(), c -> c >= n);
      assertEquals(sent, b.handler().ids(), "exactly once, in order");
      int messages = spy.queueDeclarePassive(spyQueue).getMessageCount();
      assertTrue(messages > 0 && messages < n / 4, "10,000 envelopes took " + messages + " broker messages");
      GetResponse one = spy.basicGet(spyQueue, true);
      assertEquals("application/vnd.wsgateway.batch", one.getProps().getContentType());
      spy.queueDelete(spyQueue);
      spy.close();
    }

    @Test
    @DisplayName("a lone envelope at low load is sent at once, not after a linger")
    void loneEnvelopeIsNotDelayed() {
      // A linger of a second would show: the lone envelope must not wait for it.
      Instance a = attach(rabbit.options().batchLinger(Duration.ofSeconds(1)).build());
      Instance b = attach();
      long start = System.nanoTime();
      Await.success(TIMEOUT, "send", a.endpoint().sendToInstance(b.id(), envelope("lone")));
      Await.until(TIMEOUT, "b to receive", () -> b.handler(), h -> h.received("lone"));
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertTrue(took.compareTo(Duration.ofMillis(900)) < 0, "a lone envelope took " + took);
    }
  }

  @Nested
  @DisplayName("the pending-publish byte bound")
  class ByteBound {

    @Test
    @DisplayName("a burst of large envelopes beyond maxPendingPublishBytes fails at once with OVERLOADED, though under the count bound; the bytes come back once confirmed")
    void largeEnvelopesAreBoundedByBytes() {
      Instance a = attach(rabbit.options().maxPendingPublishes(10_000).maxPendingPublishBytes(1024 * 1024).build());
      Instance b = attach();
      byte[] data = ("\"" + "x".repeat(64 * 1024 - 2) + "\"").getBytes(StandardCharsets.UTF_8);
      List<CompletableFuture<Void>> stages = new ArrayList<>();
      int refusedAtOnce = 0;
      for (int i = 0; i < 200; i++) {
        CompletableFuture<Void> stage = a.endpoint().sendToInstance(b.id(),
            Envelope.toUser("big-" + i, "u1", null, data, null)).toCompletableFuture();
        if (stage.isCompletedExceptionally()) {
          refusedAtOnce++;
          Throwable failure = Await.failure(TIMEOUT, "send " + i, stage);
          assertEquals(BrokerException.Reason.OVERLOADED, reasonOf(failure));
          assertTrue(failure.getMessage().startsWith("more than 1048576 bytes of envelopes unconfirmed"), failure.getMessage());
        }
        stages.add(stage);
      }
      // 200 x 64 KiB is 12.5 MiB: far more than 1 MiB can be unconfirmed while the loop runs.
      assertTrue(refusedAtOnce > 0, "no send of 200 x 64 KiB was refused by a 1 MiB bound");
      for (CompletableFuture<Void> stage : stages) {
        Await.until(TIMEOUT, "every stage to settle", stage::isDone, d -> d);
      }
      // Every byte is returned: a send of almost the whole bound is accepted and confirmed.
      byte[] most = ("\"" + "y".repeat(900 * 1024) + "\"").getBytes(StandardCharsets.UTF_8);
      Await.success(TIMEOUT, "a 900 KiB send after the burst", a.endpoint().sendToInstance(b.id(),
          Envelope.toUser("most", "u1", null, most, null)));
      Throwable tooBig = Await.failure(TIMEOUT, "a send larger than the whole bound", a.endpoint().sendToInstance(b.id(),
          Envelope.toUser("too-big", "u1", null, new byte[1024 * 1024 + 1], null)));
      assertEquals(BrokerException.Reason.OVERLOADED, reasonOf(tooBig));
    }
  }

  @Nested
  @DisplayName("an envelope the codec cannot carry")
  class Unencodable {

    @Test
    @DisplayName("fails only its own stage, at once, returns its permit, and the envelopes batched around it arrive")
    void failsAloneAndReturnsItsPermit() {
      // A small permit budget: permits lost to the bad envelopes would soon refuse every send.
      Instance a = attach(rabbit.options().maxPendingPublishes(20).build());
      Instance b = attach();
      String huge = "x".repeat(70_000);
      List<String> good = new ArrayList<>();
      for (int round = 0; round < 40; round++) {
        List<CompletableFuture<Void>> goodStages = new ArrayList<>();
        List<CompletableFuture<Void>> badStages = new ArrayList<>();
        // Sent back to back, so the bad one is batched with the good ones around it.
        for (int i = 0; i < 3; i++) {
          String id = "g-" + round + "-" + i;
          good.add(id);
          goodStages.add(a.endpoint().sendToInstance(b.id(), envelope(id)).toCompletableFuture());
          badStages.add(a.endpoint().sendToInstance(b.id(), Envelope.toUser("bad-" + round + "-" + i, "u1", huge,
              "{}".getBytes(StandardCharsets.UTF_8), null)).toCompletableFuture());
          badStages.add(a.endpoint().sendToInstance(b.id(), Envelope.toUser(huge, "u1", null,
              "{}".getBytes(StandardCharsets.UTF_8), null)).toCompletableFuture());
        }
        for (CompletableFuture<Void> bad : badStages) {
          Throwable failure = Await.failure(TIMEOUT, "a send of an envelope with a 70,000-byte field", bad);
          assertInstanceOf(IllegalArgumentException.class, failure);
          assertTrue(failure.getMessage().contains("(expected: at most 65535 bytes"), failure.getMessage());
        }
        for (CompletableFuture<Void> stage : goodStages) {
          Await.success(TIMEOUT, "a good send in round " + round, stage);
        }
      }
      awaitDeliveredIds(b, good);
      assertEquals(good, b.handler().ids(), "the good envelopes, exactly once and in order");
    }

    private void awaitDeliveredIds(Instance to, List<String> ids) {
      Await.until(TIMEOUT, to.id() + " to receive " + ids.size() + " envelopes", () -> to.handler().count(),
          c -> c >= ids.size());
    }
  }

  @Nested
  @DisplayName("NO_ROUTE")
  class NoRoute {

    @Test
    @DisplayName("a send to an instance that has no inbox fails with NO_ROUTE, and a batch to a live one still arrives")
    void noRoute() {
      Instance a = attach();
      Instance b = attach();
      List<CompletableFuture<Void>> lost = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        lost.add(a.endpoint().sendToInstance("no-such-instance", envelope("lost-" + i)).toCompletableFuture());
        a.endpoint().sendToInstance(b.id(), envelope("kept-" + i));
      }
      for (CompletableFuture<Void> stage : lost) {
        Throwable failure = Await.failure(TIMEOUT, "send to nobody", stage);
        assertEquals(BrokerException.Reason.NO_ROUTE, reasonOf(failure));
        assertTrue(failure.getMessage().startsWith("no inbox for instance no-such-instance"), failure.getMessage());
      }
      Await.until(TIMEOUT, "b to receive 50", () -> b.handler().count(), c -> c >= 50);
    }
  }

  @Nested
  @DisplayName("ingress")
  class Ingress {

    private void publishIngress(Channel channel, String json) throws Exception {
      channel.basicPublish(rabbit.prefix + ".ingress", "", new AMQP.BasicProperties.Builder().contentType("application/json").build(),
          json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    @DisplayName("a backend's JSON becomes an envelope for onIngress, to a user or a topic, with from and id when given")
    void jsonBecomesEnvelope() throws Exception {
      Instance a = attach();
      Channel channel = rabbit.newChannel();
      publishIngress(channel, "{\"to\":\"alice\",\"data\":{\"text\":\"hi \u00e9\"},\"from\":\"billing\",\"id\":\"ing-1\"}");
      publishIngress(channel, "{\"topic\":\"news\",\"data\":[1,2]}");
      List<Envelope> got = Await.until(TIMEOUT, "two ingress envelopes", () -> a.handler().ingress(), l -> l.size() >= 2);
      // Different recipients: no order between them.
      Envelope user = got.stream().filter(e -> e.kind() == Envelope.Kind.USER).findFirst().orElseThrow();
      assertEquals("ing-1", user.id());
      assertEquals(Envelope.Kind.USER, user.kind());
      assertEquals("alice", user.target());
      assertEquals("billing", user.from());
      assertNull(user.origin());
      assertEquals("{\"text\":\"hi \u00e9\"}", user.dataAsString());
      Envelope topic = got.stream().filter(e -> e.kind() == Envelope.Kind.TOPIC).findFirst().orElseThrow();
      assertEquals(Envelope.Kind.TOPIC, topic.kind());
      assertEquals("news", topic.target());
      assertNull(topic.from());
      assertNotNull(topic.id());
      assertEquals("[1,2]", topic.dataAsString());
      assertEquals(0, a.handler().count(), "ingress is not delivered through onEnvelope");
      channel.close();
    }

    @Test
    @DisplayName("the shared ingress queue of an earlier version is drained and unbound: its messages are routed once, new ones go through the partitions")
    void legacyQueueDrained() throws Exception {
      // A prefix of its own: as before an upgrade, no split queue is bound to this exchange yet.
      try (RabbitTestSupport own = new RabbitTestSupport()) {
        // What an earlier version left: the shared queue, bound to the exchange, with messages in it.
        Channel channel = own.newChannel();
        String legacy = own.prefix + ".ingress";
        channel.exchangeDeclare(legacy, "fanout", true);
        channel.queueDeclare(legacy, true, false, false, Map.of("x-queue-type", "classic"));
        channel.queueBind(legacy, legacy, "");
        byte[][] bodies = new byte[10][];
        for (int i = 0; i < 10; i++) {
          bodies[i] = ("{\"to\":\"u\",\"id\":\"" + (i < 5 ? "old-" : "new-") + i + "\",\"data\":" + i + "}")
              .getBytes(StandardCharsets.UTF_8);
        }
        for (int i = 0; i < 5; i++) {
          channel.basicPublish(legacy, "", null, bodies[i]);
        }
        Instance a = attach(own.options().build());
        for (int i = 5; i < 10; i++) {
          channel.basicPublish(legacy, "", null, bodies[i]);
        }
        Await.until(TIMEOUT, "ten ingress messages", () -> a.handler().ingress(), l -> l.size() >= 10);
        Set<String> ids = new HashSet<>();
        for (Envelope e : a.handler().ingress()) {
          assertTrue(ids.add(e.id()), "routed twice: " + e.id());
        }
        assertEquals(10, ids.size());
        assertEquals(0, messageCount(channel, legacy), "nothing new reaches the old queue");
        channel.close();
      }
    }

    @Test
    @DisplayName("with two instances attached, each message reaches exactly one of them")
    void competingConsumers() throws Exception {
      Instance a = attach();
      Instance b = attach();
      Channel channel = rabbit.newChannel();
      int n = 200;
      for (int i = 0; i < n; i++) {
        publishIngress(channel, "{\"to\":\"u\",\"id\":\"c-" + i + "\",\"data\":" + i + "}");
      }
      Await.until(TIMEOUT, "all ingress messages handled", () -> a.handler().ingress().size() + b.handler().ingress().size(), c -> c >= n);
      Set<String> seen = new HashSet<>();
      for (Envelope e : a.handler().ingress()) {
        assertTrue(seen.add(e.id()), "duplicate " + e.id());
      }
      for (Envelope e : b.handler().ingress()) {
        assertTrue(seen.add(e.id()), "delivered to both: " + e.id());
      }
      assertEquals(n, seen.size());
      channel.close();
    }

    @Test
    @DisplayName("malformed bodies are dead-lettered, never requeued, and never reach the handler; good ones still do")
    void malformedRejected() throws Exception {
      Instance a = attach();
      Channel channel = rabbit.newChannel();
      // The dead-letter queue is shared by this class's tests.
      long deadBefore = messageCount(channel, rabbit.prefix + ".ingress.dlq");
      for (String bad : List.of("not json", "[1]", "{\"data\":1}", "{\"to\":\"u\",\"topic\":\"t\",\"data\":1}",
          "{\"to\":\"u\"}", "{\"to\":5,\"data\":1}")) {
        publishIngress(channel, bad);
      }
      publishIngress(channel, "{\"to\":\"u\",\"id\":\"good\",\"data\":true}");
      List<Envelope> got = Await.until(TIMEOUT, "the good message", () -> a.handler().ingress(), l -> !l.isEmpty());
      assertEquals("good", got.get(0).id());
      Await.until(TIMEOUT, "the malformed bodies in the dead-letter queue (not requeued)",
          () -> messageCount(channel, rabbit.prefix + ".ingress.dlq"), c -> c == deadBefore + 6);
      assertEquals(0, messageCount(channel, rabbit.prefix + ".ingress.split"));
      assertEquals(1, a.handler().ingress().size());
      channel.close();
    }

    @Test
    @DisplayName("a poison message (a from or id over 65,535 bytes, an over-long to, a body over ingressMaxMessageBytes) is dead-lettered with its reason; the publisher and every other message are untouched")
    void poisonDeadLettered() throws Exception {
      // The handler routes each message through its own endpoint, as the gateway does. Permits for
      // what is in flight here at once, and no more: a permit lost to a poison message shows below.
      MessageBroker broker = RabbitBroker.create(rabbit.options().maxPendingPublishes(100).ingressMaxMessageBytes(200_000).build());
      brokers.add(broker);
      String id = "poison-" + ids.incrementAndGet();
      Routing routing = new Routing();
      BrokerEndpoint endpoint = Await.success(TIMEOUT, "attach", broker.attach(id, routing));
      routing.route(endpoint, id);
      Channel channel = rabbit.newChannel();
      // The dead-letter queue is shared by this class's tests: start from an empty one.
      channel.queuePurge(rabbit.prefix + ".ingress.dlq");
      String huge = "x".repeat(70_000);
      List<String> poison = List.of(
          "{\"to\":\"u\",\"from\":\"" + huge + "\",\"data\":1}",
          "{\"to\":\"u\",\"id\":\"" + huge + "\",\"data\":1}",
          "{\"to\":\"" + "u".repeat(256) + "\",\"data\":1}",
          "{\"to\":\"u\",\"data\":\"" + "y".repeat(200_001) + "\"}");
      List<String> good = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        publishIngress(channel, poison.get(i % poison.size()));
        good.add("good-" + i);
        publishIngress(channel, "{\"to\":\"u\",\"id\":\"good-" + i + "\",\"data\":" + i + "}");
      }
      Await.until(TIMEOUT, "every good message routed", () -> routing.routed, r -> r.containsAll(good));
      String dlq = rabbit.prefix + ".ingress.dlq";
      Await.until(TIMEOUT, "30 poison messages in " + dlq, () -> messageCount(channel, dlq), c -> c == 30);
      assertEquals(List.of(), routing.failed, "no routed message failed");
      for (Envelope e : routing.seen) {
        assertTrue(e.id().startsWith("good-"), "the handler never sees a poison message: " + e);
      }
      GetResponse dead = channel.basicGet(dlq, true);
      assertEquals("ingress body: \"from\" is 70000 bytes (expected: 1..255 bytes of UTF-8)",
          String.valueOf(dead.getProps().getHeaders().get("x-wsgateway-error")));
      assertEquals(rabbit.prefix + ".ingress.split", String.valueOf(dead.getProps().getHeaders().get("x-wsgateway-queue")));
      assertTrue(new String(dead.getBody(), StandardCharsets.UTF_8).startsWith("{\"to\":\"u\",\"from\":\"xxx"), "the body as published");
      // The publisher still takes sends: a burst of 100 (the whole permit budget) succeeds.
      List<CompletableFuture<Void>> after = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        after.add(endpoint.sendToInstance(id, envelope("after-" + i)).toCompletableFuture());
      }
      Await.success(TIMEOUT, "100 sends after the poison", CompletableFuture.allOf(after.toArray(new CompletableFuture<?>[0])));
      channel.close();
    }

    @Test
    @DisplayName("a message whose user is never found is tried ingressMaxAttempts times in place, then dead-lettered; the next one for that user follows, others are not held up")
    void notRoutedDeadLettered() throws Exception {
      try (RabbitTestSupport own = new RabbitTestSupport()) {
        List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
        io.wsgateway.broker.EnvelopeHandler handler = new io.wsgateway.broker.EnvelopeHandler() {
          @Override
          public void onEnvelope(Envelope envelope) {}

          @Override
          public java.util.concurrent.CompletionStage<Void> onIngress(Envelope envelope) {
            calls.add(envelope.id());
            return envelope.target().equals("ghost")
                ? CompletableFuture.failedFuture(new BrokerException(BrokerException.Reason.NO_ROUTE, "user ghost not found"))
                : CompletableFuture.completedFuture(null);
          }
        };
        MessageBroker broker = RabbitBroker.create(own.options().ingressRetryDelay(Duration.ofMillis(20)).ingressMaxAttempts(3).build());
        brokers.add(broker);
        Await.success(TIMEOUT, "attach", broker.attach("nr-" + ids.incrementAndGet(), handler));
        Channel channel = own.newChannel();
        for (String body : List.of("{\"to\":\"ghost\",\"id\":\"g1\",\"data\":1}", "{\"to\":\"ghost\",\"id\":\"g2\",\"data\":2}",
            "{\"to\":\"alive\",\"id\":\"a1\",\"data\":1}")) {
          channel.basicPublish(own.prefix + ".ingress", "", null, body.getBytes(StandardCharsets.UTF_8));
        }
        String dlq = own.prefix + ".ingress.dlq";
        Await.until(TIMEOUT, "both ghost messages dead-lettered", () -> messageCount(channel, dlq), c -> c == 2);
        List<String> ghost = calls.stream().filter(id -> id.startsWith("g")).toList();
        assertEquals(List.of("g1", "g1", "g1", "g2", "g2", "g2"), ghost, "three tries each, in place, in order");
        assertTrue(calls.contains("a1"));
        GetResponse dead = channel.basicGet(dlq, true);
        assertEquals("not routed after 3 attempt(s): user ghost not found",
            String.valueOf(dead.getProps().getHeaders().get("x-wsgateway-error")));
        assertTrue(new String(dead.getBody(), StandardCharsets.UTF_8).contains("\"id\":\"g1\""));
        channel.close();
      }
    }

    @Test
    @DisplayName("an instance that answers UNAVAILABLE hands the partition over: the next instance routes the message, in order")
    void unavailableHandsOver() throws Exception {
      try (RabbitTestSupport own = new RabbitTestSupport()) {
        List<String> refused = new java.util.concurrent.CopyOnWriteArrayList<>();
        io.wsgateway.broker.EnvelopeHandler stopping = new io.wsgateway.broker.EnvelopeHandler() {
          @Override
          public void onEnvelope(Envelope envelope) {}

          @Override
          public java.util.concurrent.CompletionStage<Void> onIngress(Envelope envelope) {
            refused.add(envelope.id());
            return CompletableFuture.failedFuture(new BrokerException(BrokerException.Reason.UNAVAILABLE, "stopping"));
          }
        };
        RabbitBrokerOptions options = own.options().recoveryInterval(Duration.ofSeconds(30)).build();
        MessageBroker first = RabbitBroker.create(options);
        brokers.add(first);
        // Attached first: the active consumer of every queue.
        Await.success(TIMEOUT, "attach the stopping instance", first.attach("stop-" + ids.incrementAndGet(), stopping));
        MessageBroker second = RabbitBroker.create(options);
        brokers.add(second);
        RecordingHandler working = new RecordingHandler();
        Await.success(TIMEOUT, "attach the working instance", second.attach("work-" + ids.incrementAndGet(), working));
        Channel channel = own.newChannel();
        for (int i = 1; i <= 20; i++) {
          channel.basicPublish(own.prefix + ".ingress", "", null,
              ("{\"to\":\"u\",\"id\":\"h" + i + "\",\"data\":" + i + "}").getBytes(StandardCharsets.UTF_8));
        }
        List<Envelope> got = Await.until(TIMEOUT, "the working instance to route all 20", working::ingress, l -> l.size() >= 20);
        List<String> order = got.stream().map(Envelope::id).toList();
        List<String> expected = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
          expected.add("h" + i);
        }
        assertEquals(expected, order, "in publish order, each once");
        assertTrue(!refused.isEmpty(), "the stopping instance was asked first");
        channel.close();
      }
    }

    /** Routes each ingress envelope through the endpoint to its own inbox, as a gateway would. */
    final class Routing implements io.wsgateway.broker.EnvelopeHandler {
      final List<Envelope> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
      final List<String> routed = new java.util.concurrent.CopyOnWriteArrayList<>();
      final List<String> failed = new java.util.concurrent.CopyOnWriteArrayList<>();
      private volatile BrokerEndpoint endpoint;
      private volatile String self;

      void route(BrokerEndpoint endpoint, String self) {
        this.endpoint = endpoint;
        this.self = self;
      }

      @Override
      public void onEnvelope(Envelope envelope) {}

      @Override
      public java.util.concurrent.CompletionStage<Void> onIngress(Envelope envelope) {
        seen.add(envelope);
        if (endpoint == null) {
          return CompletableFuture.failedFuture(new BrokerException(BrokerException.Reason.UNAVAILABLE, "starting"));
        }
        return endpoint.sendToInstance(self, envelope).whenComplete((v, e) -> {
          if (e == null) {
            routed.add(envelope.id());
          } else {
            failed.add(envelope.id() + ": " + e);
          }
        });
      }
    }

    private long messageCount(Channel channel, String queue) {
      try {
        return channel.queueDeclarePassive(queue).getMessageCount();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }

  @Nested
  @DisplayName("upstream")
  class Upstream {

    @Test
    @DisplayName("a forwarded frame reaches a queue bound with its type, with user, connection and instance headers")
    void forwardsWithHeaders() throws Exception {
      Instance a = attach(rabbit.options().upstreamEnabled(true).build());
      Channel channel = rabbit.newChannel();
      String queue = channel.queueDeclare().getQueue();
      channel.queueBind(queue, rabbit.prefix + ".upstream", "chat.typing");
      byte[] frame = "{\"type\":\"chat.typing\",\"room\":\"r1\"}".getBytes(StandardCharsets.UTF_8);

      Await.success(TIMEOUT, "forward", a.endpoint().forwardUpstream("chat.typing", frame,
          Map.of("user_id", "alice", "connection_id", "c-42")));

      GetResponse got = Await.until(TIMEOUT, "the frame in the backend's queue", () -> get(channel, queue), r -> r != null);
      assertArrayEquals(frame, got.getBody());
      Map<String, Object> headers = got.getProps().getHeaders();
      assertEquals("alice", String.valueOf(headers.get("user_id")));
      assertEquals("c-42", String.valueOf(headers.get("connection_id")));
      assertEquals(a.id(), String.valueOf(headers.get("instance_id")));
      assertEquals("chat.typing", got.getEnvelope().getRoutingKey());
      channel.queueDelete(queue);
      channel.close();
    }

    @Test
    @DisplayName("a frame type no backend binds fails with NO_ROUTE")
    void unboundTypeFails() {
      Instance a = attach(rabbit.options().upstreamEnabled(true).build());
      Throwable failure = Await.failure(TIMEOUT, "forward", a.endpoint().forwardUpstream("nobody.listens",
          "{}".getBytes(StandardCharsets.UTF_8), Map.of("user_id", "u")));
      assertEquals(BrokerException.Reason.NO_ROUTE, reasonOf(failure));
    }

    @Test
    @DisplayName("when not enabled, forwarding fails with UNSUPPORTED")
    void disabled() {
      Instance a = attach();
      Throwable failure = Await.failure(TIMEOUT, "forward", a.endpoint().forwardUpstream("x",
          "{}".getBytes(StandardCharsets.UTF_8), Map.of()));
      assertEquals(BrokerException.Reason.UNSUPPORTED, reasonOf(failure));
    }

    private GetResponse get(Channel channel, String queue) {
      try {
        return channel.basicGet(queue, true);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }

  @Nested
  @DisplayName("connection loss and recovery")
  class Recovery {

    /**
     * Sends {@code count} envelopes from {@code from} to {@code to}, waits for every stage to settle,
     * and returns the ids whose stage succeeded; failures must be BrokerExceptions.
     */
    private List<String> sendAndSettle(Instance from, Instance to, String prefix, int count) {
      List<String> sentIds = new ArrayList<>();
      List<CompletableFuture<Void>> stages = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        sentIds.add(prefix + i);
        stages.add(from.endpoint().sendToInstance(to.id(), envelope(prefix + i)).toCompletableFuture());
      }
      List<String> succeeded = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        CompletableFuture<Void> stage = stages.get(i);
        Await.until(TIMEOUT, "stage " + sentIds.get(i) + " to settle (never left hanging)", stage::isDone, d -> d);
        try {
          stage.get();
          succeeded.add(sentIds.get(i));
        } catch (ExecutionException e) {
          assertInstanceOf(BrokerException.class, e.getCause(), "failure of " + sentIds.get(i));
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
      }
      return succeeded;
    }

    private void awaitDelivered(Instance to, List<String> ids) {
      Await.until(TIMEOUT, to.id() + " to receive every confirmed envelope", () -> {
        Set<String> missing = new HashSet<>(ids);
        missing.removeAll(to.handler().ids());
        return missing;
      }, Set::isEmpty);
    }

    private void assertNoDuplicates(Instance to) {
      List<String> received = to.handler().ids();
      assertEquals(received.size(), new HashSet<>(received).size(), "duplicates in " + to.handler());
    }

    @Test
    @DisplayName("when the sender's connection is closed by the server, it recovers; every envelope is delivered or its stage failed")
    void senderConnectionDropped() throws Exception {
      Instance a = attach();
      Instance b = attach();
      awaitDelivered(b, sendAndSettle(a, b, "before-", 200));

      CompletableFuture<Integer> dropped = CompletableFuture.supplyAsync(() -> {
        try {
          return RabbitTestSupport.closeConnection("wsgateway-" + a.id());
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      // Keep sending while the connection goes down and comes back.
      List<String> during = new ArrayList<>();
      int round = 0;
      while (!dropped.isDone()) {
        during.addAll(sendAndSettle(a, b, "during-" + (round++) + "-", 20));
      }
      assertEquals(1, dropped.get(), "connections named wsgateway-" + a.id() + " closed");
      during.addAll(sendAndSettle(a, b, "outage-", 200));
      awaitDelivered(b, during);

      // After recovery, publishing works again: wait for one confirmed send, then all must succeed.
      Await.until(TIMEOUT, "a send to succeed after recovery",
          () -> sendAndSettle(a, b, "probe-" + System.nanoTime() + "-", 1), l -> l.size() == 1);
      List<String> after = sendAndSettle(a, b, "after-", 500);
      assertEquals(500, after.size(), "every send after recovery succeeds");
      awaitDelivered(b, after);
      assertNoDuplicates(b);
    }

    @Test
    @DisplayName("when the receiver's connection is closed by the server, its inbox survives and it receives what was sent meanwhile")
    void receiverConnectionDropped() throws Exception {
      Instance a = attach();
      Instance b = attach();
      awaitDelivered(b, sendAndSettle(a, b, "before-", 100));
      assertEquals(1, RabbitTestSupport.closeConnection("wsgateway-" + b.id()));
      List<String> meanwhile = sendAndSettle(a, b, "meanwhile-", 500);
      assertEquals(500, meanwhile.size(), "the inbox outlives a brief disconnect, so every send is confirmed");
      awaitDelivered(b, meanwhile);
      List<String> after = sendAndSettle(a, b, "after-", 100);
      awaitDelivered(b, after);
      assertNoDuplicates(b);
    }

    @Test
    @DisplayName("publishes buffered during an outage beyond maxPendingPublishes fail at once with UNAVAILABLE")
    void outageBufferIsBounded() throws Exception {
      Instance a = attach(rabbit.options().maxPendingPublishes(50).recoveryInterval(Duration.ofSeconds(3)).build());
      Instance b = attach();
      assertEquals(1, RabbitTestSupport.closeConnection("wsgateway-" + a.id()));
      // The first send after the drop may still find the connection up; wait until sends are buffered.
      List<CompletableFuture<Void>> stages = new ArrayList<>();
      List<String> probeIds = new ArrayList<>();
      Await.until(TIMEOUT, "a send to be refused as UNAVAILABLE with the buffer full", () -> {
        String id = "o-" + stages.size();
        CompletableFuture<Void> stage = a.endpoint().sendToInstance(b.id(), envelope(id)).toCompletableFuture();
        stages.add(stage);
        probeIds.add(id);
        return stage.isCompletedExceptionally()
            && reasonOf(Await.failure(TIMEOUT, "send", stage)) == BrokerException.Reason.UNAVAILABLE;
      }, refused -> refused);
      // The buffered ones go out after recovery (or fail); none is left hanging, and each confirmed one arrives.
      List<String> confirmed = new ArrayList<>();
      for (CompletableFuture<Void> stage : stages) {
        Await.until(TIMEOUT, "every buffered stage to settle", stage::isDone, d -> d);
      }
      for (int i = 0; i < stages.size(); i++) {
        if (!stages.get(i).isCompletedExceptionally()) {
          confirmed.add(probeIds.get(i));
        }
      }
      assertTrue(stages.size() > 50, "at least the buffer's worth was accepted before refusals: " + stages.size());
      awaitDelivered(b, confirmed);
    }
  }

  @Nested
  @DisplayName("orphans")
  class Orphans {

    /** Handles nothing from its inbox (a crashed or hopelessly stuck instance); records rescues. */
    final class Stuck implements io.wsgateway.broker.EnvelopeHandler {
      final List<String> rescued = new java.util.concurrent.CopyOnWriteArrayList<>();
      final boolean stuck;

      Stuck(boolean stuck) {
        this.stuck = stuck;
      }

      @Override
      public void onEnvelope(Envelope envelope) {}

      @Override
      public java.util.concurrent.CompletionStage<Void> handle(Envelope envelope) {
        return stuck ? new CompletableFuture<>() : CompletableFuture.completedFuture(null);
      }

      @Override
      public java.util.concurrent.CompletionStage<Void> onOrphan(Envelope envelope, String deadInstance) {
        rescued.add(envelope.id() + "@" + deadInstance);
        return CompletableFuture.completedFuture(null);
      }
    }

    @Test
    @DisplayName("what waits in a stuck inbox longer than orphanAfter is sent back a few times, then reaches onOrphan naming that inbox's instance")
    void rescued() throws Exception {
      RabbitBrokerOptions options = rabbit.options().prefetch(1).orphanAfter(Duration.ofMillis(300)).build();
      MessageBroker ghostBroker = RabbitBroker.create(options);
      brokers.add(ghostBroker);
      MessageBroker liveBroker = RabbitBroker.create(options);
      brokers.add(liveBroker);
      String ghostId = "ghost-" + ids.incrementAndGet() + "-" + System.nanoTime();
      Stuck ghost = new Stuck(true);
      Stuck live = new Stuck(false);
      BrokerEndpoint ghostEndpoint = Await.success(TIMEOUT, "attach ghost", ghostBroker.attach(ghostId, ghost));
      BrokerEndpoint liveEndpoint = Await.success(TIMEOUT, "attach live", liveBroker.attach("live-" + ghostId, live));

      // One at a time, so each is its own broker message: the first is taken (and never acked) by the
      // stuck consumer, the others wait in its inbox until they expire into the orphans queue.
      for (int i = 0; i < 3; i++) {
        Await.success(TIMEOUT, "send " + i, liveEndpoint.sendToInstance(ghostId, envelope("o" + i)));
      }
      Await.until(TIMEOUT, "two rescued", () -> {
        Set<String> all = new HashSet<>(ghost.rescued);
        all.addAll(live.rescued);
        return all;
      }, all -> all.containsAll(Set.of("o1@" + ghostId, "o2@" + ghostId)));
      assertTrue(ghost.rescued.size() + live.rescued.size() <= 2, "the one held by the stuck consumer is not rescued: "
          + ghost.rescued + live.rescued);
      assertNotNull(ghostEndpoint);
    }
  }
}
