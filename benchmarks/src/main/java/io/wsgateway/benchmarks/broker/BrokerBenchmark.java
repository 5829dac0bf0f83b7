package io.wsgateway.benchmarks.broker;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConnectionFactory;
import io.wsgateway.benchmarks.AbstractBenchmark;
import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.EnvelopeCodec;
import io.wsgateway.broker.InProcessBroker;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.rabbit.RabbitBroker;
import io.wsgateway.rabbit.RabbitBrokerOptions;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Envelopes sent to an instance's inbox and handed to its handler, through the in-process broker or
 * RabbitMQ (127.0.0.1:5672, guest/guest); at most {@code window} envelopes in flight. One operation is
 * one envelope received by the handler. Beside it, the codec round trip every Rabbit envelope pays
 * (encode and decode of a batch of one), the floor without any transport.
 *
 * <p>The Rabbit run declares its topology under a unique exchange prefix and deletes it in
 * {@link #tearDown}, so runs neither collide with a gateway on the same broker nor leave litter.
 */
@State(Scope.Benchmark)
public class BrokerBenchmark extends AbstractBenchmark {

  static final int BATCH = 1_000;

  @Param({"inprocess", "rabbit"})
  public String broker;

  @Param({"256"})
  public int window;

  private MessageBroker messageBroker;
  private BrokerEndpoint endpoint;
  private String instanceId;
  private String prefix;
  private Semaphore inFlight;
  private final AtomicLong received = new AtomicLong();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private Envelope envelope;
  private List<Envelope> one;

  @Setup(Level.Trial)
  public void setup() throws Exception {
    inFlight = new Semaphore(window);
    byte[] data = "{\"t\":1700000000000,\"text\":\"hello from another instance\"}".getBytes(StandardCharsets.UTF_8);
    String unique = UUID.randomUUID().toString().substring(0, 8);
    instanceId = "bench-" + unique;
    envelope = Envelope.toUser("e-" + unique, "user-0001", "user-0002", data, instanceId);
    one = List.of(envelope);
    prefix = "wsgateway-bench-" + unique;
    messageBroker = switch (broker) {
      case "inprocess" -> InProcessBroker.create();
      case "rabbit" -> RabbitBroker.create(RabbitBrokerOptions.builder()
          .uri("amqp://guest:guest@127.0.0.1:5672").exchangePrefix(prefix).build());
      default -> throw new IllegalArgumentException("broker: " + broker);
    };
    endpoint = messageBroker.attach(instanceId, e -> {
      if (e.data().length != data.length || !e.target().equals("user-0001")) {
        failure.compareAndSet(null, new IllegalStateException("wrong envelope " + e));
      }
      received.incrementAndGet();
      inFlight.release();
    }).toCompletableFuture().get(30, TimeUnit.SECONDS);
    roundTrip();
    check(received.get() == BATCH, broker + ": first batch received " + received.get());
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long roundTrip() throws InterruptedException {
    long goal = sent.get() + BATCH;
    for (int i = 0; i < BATCH; i++) {
      if (!inFlight.tryAcquire(20, TimeUnit.SECONDS)) {
        throw new IllegalStateException(broker + ": window did not open within 20 s; received " + received.get());
      }
      sent.incrementAndGet();
      endpoint.sendToInstance(instanceId, envelope).whenComplete((v, e) -> {
        if (e != null) {
          failure.compareAndSet(null, e);
          inFlight.release();
        }
      });
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (received.get() < goal) {
      Throwable f = failure.get();
      if (f != null) {
        throw new IllegalStateException(broker + ": send failed", f);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(broker + ": received " + received.get() + " of " + goal + " within 20 s");
      }
      Thread.onSpinWait();
      Thread.yield();
    }
    return goal;
  }

  /** Baseline: encode and decode of one envelope as the Rabbit broker frames it, no transport. */
  @Benchmark
  public List<Envelope> codecRoundTripBaseline() {
    return EnvelopeCodec.decode(EnvelopeCodec.encode(one));
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    try {
      check(failure.get() == null, broker + ": " + failure.get());
      check(received.get() == sent.get(), broker + ": received " + received.get() + " != sent " + sent.get());
    } finally {
      endpoint.close().toCompletableFuture().get(10, TimeUnit.SECONDS);
      messageBroker.close();
      if (broker.equals("rabbit")) {
        deleteTopology();
      }
    }
  }

  /** Deletes what the broker declared under this run's prefix (see docs/backend.md for the names). */
  private void deleteTopology() throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setUri("amqp://guest:guest@127.0.0.1:5672");
    try (com.rabbitmq.client.Connection c = f.newConnection("benchmark-cleanup"); Channel ch = c.createChannel()) {
      ch.queueDelete(prefix + ".inbox." + instanceId);
      ch.queueDelete(prefix + ".ingress");
      ch.queueDelete(prefix + ".orphans");
      for (String x : new String[] {".inbox", ".topics", ".ingress", ".upstream"}) {
        ch.exchangeDelete(prefix + x);
      }
    }
  }
}
