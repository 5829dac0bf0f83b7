package io.wsgateway.rabbit.internal;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AlreadyClosedException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.ShutdownSignalException;
import io.wsgateway.broker.BrokerException;
import io.wsgateway.broker.Envelope;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes the ingress partition queues and hands their messages to {@link
 * io.wsgateway.broker.EnvelopeHandler#onIngress} one recipient at a time: the next message for a
 * recipient is handed over only once the stage of the previous one completed; different recipients
 * run in parallel. Each partition queue has a single active consumer, so one instance at a time
 * consumes a partition; partitions move to another instance when this one closes, loses its
 * connection or dies.
 *
 * <p>Outcomes of a stage: success, or a failure other than those below (the handler gave up and said
 * why), acknowledges the message. {@code NO_ROUTE} retries it in place, after {@code retryDelay},
 * doubled each time, up to {@code maxAttempts} tries, then dead-letters it; later messages for the
 * recipient wait meanwhile, rather than overtake it. {@code UNAVAILABLE} (this instance cannot route
 * now) hands the whole partition over: its channel is closed once the stages in flight on it
 * completed, so every unacknowledged message goes back to the queue in order, and it is consumed again
 * after the recovery interval (by another instance first, if one waits).
 *
 * <p>Threading: deliveries arrive on the client's consumer threads (in order per channel); stages
 * complete on any thread; retries run on the endpoint's io thread. Each partition's state is guarded
 * by its {@link Partition} object. Handler calls are made outside that lock.
 */
final class IngressPartitions {

  private static final Logger log = LoggerFactory.getLogger(IngressPartitions.class);

  private final IngressHost host;
  private final Topology topology;
  private final Partition[] partitions;
  private final int prefetch;
  private final int maxAttempts;
  private final long retryDelayMillis;
  private final long reopenMillis;
  private final long closeTimeoutMillis;

  IngressPartitions(IngressHost host, Topology topology, int count, int prefetch, int maxAttempts, long retryDelayMillis,
      long reopenMillis, long closeTimeoutMillis) {
    this.host = host;
    this.topology = topology;
    this.prefetch = prefetch;
    this.maxAttempts = maxAttempts;
    this.retryDelayMillis = retryDelayMillis;
    this.reopenMillis = reopenMillis;
    this.closeTimeoutMillis = closeTimeoutMillis;
    this.partitions = new Partition[count];
    for (int i = 0; i < count; i++) {
      partitions[i] = new Partition(i);
    }
  }

  /** Starts consuming every partition (blocking RPCs; on io). */
  void start() throws IOException {
    for (Partition p : partitions) {
      p.open();
    }
  }

  /**
   * Stops handing messages over, waits (at most the close timeout) for the stages in flight, then
   * closes every partition's channel: the rest goes back to the queues, in order, for the next
   * active consumers.
   */
  CompletableFuture<Void> close() {
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (Partition p : partitions) {
      all.add(p.close());
    }
    return CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]));
  }

  /** One message of a partition, from delivery to acknowledgement. */
  private static final class Item {
    final int generation;
    final long tag;
    final Envelope envelope;
    final AMQP.BasicProperties props;
    final byte[] body;
    int attempts;

    Item(int generation, long tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
      this.generation = generation;
      this.tag = tag;
      this.envelope = envelope;
      this.props = props;
      this.body = body;
    }
  }

  /** The messages of one recipient: the one being handled, and those waiting behind it. */
  private static final class Lane {
    final String key;
    Item current;
    final ArrayDeque<Item> waiting = new ArrayDeque<>();

    Lane(String key) {
      this.key = key;
    }
  }

  /** One partition queue: its channel, its consumer's generation and its recipients' lanes. */
  private final class Partition {
    final int index;
    final String queue;
    // Guarded by this.
    Channel channel;
    /** The consumer of {@link #channel}: callbacks of an earlier one (a released channel) are ignored. */
    Consumer consumer;
    /** Bumped when the consumer is (re-)registered: deliveries of older generations are stale. */
    int generation;
    final Map<String, Lane> lanes = new HashMap<>();
    int inFlight;
    boolean releasing;
    boolean closing;
    CompletableFuture<Void> idle;

    Partition(int index) {
      this.index = index;
      this.queue = topology.ingressPartition(index);
    }

    void open() throws IOException {
      Channel ch = host.newChannel();
      ch.basicQos(prefetch);
      synchronized (this) {
        if (closing) {
          closeQuietly(ch);
          return;
        }
        channel = ch;
        consumer = new Consumer(ch);
        releasing = false;
      }
      ch.basicConsume(queue, false, "part-" + index + "-" + host.instanceId(), consumer);
    }

    private final class Consumer extends DefaultConsumer {
      private int consumerGeneration;

      Consumer(Channel channel) {
        super(channel);
      }

      @Override
      public void handleConsumeOk(String consumerTag) {
        synchronized (Partition.this) {
          if (consumer != this) {
            return;
          }
          generation++;
          consumerGeneration = generation;
          dropWaiting();
        }
      }

      @Override
      public void handleShutdownSignal(String consumerTag, ShutdownSignalException sig) {
        // The channel or connection closed: everything unacknowledged goes back to the queue (and
        // returns after a recovery, or goes to the next active consumer). Stages in flight finish.
        synchronized (Partition.this) {
          if (consumer != this) {
            return;
          }
          generation++;
          dropWaiting();
          checkIdle();
        }
      }

      @Override
      public void handleDelivery(String tag, com.rabbitmq.client.Envelope delivery, AMQP.BasicProperties props, byte[] body) {
        long deliveryTag = delivery.getDeliveryTag();
        int gen;
        synchronized (Partition.this) {
          if (closing || releasing || consumer != this || consumerGeneration != generation) {
            return; // Left unacknowledged: it goes back to the queue with the channel.
          }
          gen = generation;
        }
        Envelope envelope;
        try {
          envelope = host.parser().parse(body);
        } catch (IllegalArgumentException e) {
          // A backend published straight into the partition, or the limits changed: not routable.
          host.deadLetter(getChannel(), deliveryTag, props, body, queue, e.getMessage(), () -> {});
          return;
        }
        Item item = new Item(gen, deliveryTag, envelope, props, body);
        Lane lane;
        synchronized (Partition.this) {
          if (gen != generation) {
            return;
          }
          lane = lanes.computeIfAbsent(Topology.recipientKey(envelope), Lane::new);
          if (lane.current != null) {
            lane.waiting.add(item);
            return;
          }
          lane.current = item;
          inFlight++;
        }
        invoke(lane, item);
      }
    }

    /** Forgets what waits in the lanes (it was, or will be, redelivered); keeps the stages in flight. */
    private void dropWaiting() {
      lanes.values().removeIf(lane -> {
        lane.waiting.clear();
        return lane.current == null;
      });
    }

    /** Hands {@code item} to the handler; its stage decides what happens next. */
    void invoke(Lane lane, Item item) {
      item.attempts++;
      CompletionStage<Void> stage;
      try {
        stage = host.handler().onIngress(item.envelope);
      } catch (RuntimeException e) {
        log.error("instance {}: ingress handler failed for {}", host.instanceId(), item.envelope, e);
        settle(lane, item, null);
        return;
      }
      stage.whenComplete((v, e) -> settle(lane, item, e));
    }

    /** The stage of {@code item} completed with {@code error} (null: success). */
    void settle(Lane lane, Item item, Throwable error) {
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      BrokerException.Reason reason = cause instanceof BrokerException be ? be.reason() : null;
      boolean retryable = reason == BrokerException.Reason.UNAVAILABLE || reason == BrokerException.Reason.NO_ROUTE;
      synchronized (this) {
        if (item.generation != generation || channel == null) {
          // Its channel closed meanwhile: it is back in the queue already.
        } else if (retryable && (closing || releasing)) {
          // Left unacknowledged: it goes back to the queue, in order, when the channel closes.
        } else if (reason == BrokerException.Reason.UNAVAILABLE) {
          release(cause);
        } else if (reason == BrokerException.Reason.NO_ROUTE && item.attempts < maxAttempts) {
          long delay = retryDelayMillis << Math.min(20, item.attempts - 1);
          if (host.schedule(() -> retry(lane, item), delay)) {
            return; // Still current: later messages for the recipient keep waiting.
          }
          // The endpoint is shutting down: leave it to go back to the queue.
        } else if (reason == BrokerException.Reason.NO_ROUTE) {
          String why = "not routed after " + item.attempts + " attempt(s): " + cause.getMessage();
          host.deadLetter(channel, item.tag, item.props, item.body, queue, why, () -> next(lane));
          return;
        } else {
          // Routed, or the handler gave up on it (and said why): done either way.
          try {
            channel.basicAck(item.tag, false);
          } catch (IOException | AlreadyClosedException e) {
            // The channel closed meanwhile: the message goes back to the queue by itself.
            log.debug("instance {}: could not acknowledge an ingress message: {}", host.instanceId(), e.toString());
          }
        }
      }
      next(lane);
    }

    void retry(Lane lane, Item item) {
      boolean again;
      synchronized (this) {
        again = item.generation == generation && !closing && !releasing;
      }
      if (again) {
        invoke(lane, item);
      } else {
        next(lane);
      }
    }

    /** The lane's current message is settled: hand over the next one, if any. */
    void next(Lane lane) {
      Item item;
      synchronized (this) {
        inFlight--;
        lane.current = null;
        item = closing || releasing ? null : lane.waiting.poll();
        if (item == null) {
          if (lane.waiting.isEmpty() && lanes.get(lane.key) == lane) {
            lanes.remove(lane.key);
          }
          checkIdle();
          return;
        }
        lane.current = item;
        inFlight++;
      }
      invoke(lane, item);
    }

    /**
     * This instance cannot route now: stop handing messages over and, once the stages in flight
     * completed, close the channel so that the partition goes (in order) to the next consumer.
     */
    private void release(Throwable cause) {
      if (releasing) {
        return;
      }
      log.info("instance {}: cannot route ingress now ({}); handing partition {} over", host.instanceId(),
          cause.getMessage(), index);
      releasing = true;
      // What waits stays unacknowledged and goes back with the channel; the stages in flight finish.
      dropWaiting();
      CompletableFuture<Void> settled = new CompletableFuture<>();
      idle = settled;
      checkIdle();
      settled.completeOnTimeout(null, closeTimeoutMillis, TimeUnit.MILLISECONDS).thenRun(() -> offLock(() -> {
        Channel old;
        synchronized (this) {
          if (closing) {
            return; // close() closes the channel.
          }
          old = channel;
          channel = null;
          idle = null;
        }
        closeQuietly(old);
        host.schedule(this::reopen, reopenMillis);
      }));
    }

    private void reopen() {
      try {
        open();
      } catch (IOException | RuntimeException e) {
        log.warn("instance {}: could not consume ingress partition {} again; retrying", host.instanceId(), index, e);
        host.schedule(this::reopen, reopenMillis);
      }
    }

    CompletableFuture<Void> close() {
      CompletableFuture<Void> settled;
      synchronized (this) {
        closing = true;
        dropWaiting();
        settled = idle != null ? idle : new CompletableFuture<>();
        idle = settled;
        checkIdle();
      }
      CompletableFuture<Void> closed = new CompletableFuture<>();
      settled.completeOnTimeout(null, closeTimeoutMillis, TimeUnit.MILLISECONDS).thenRun(() -> offLock(() -> {
        Channel ch;
        synchronized (this) {
          ch = channel;
          channel = null;
        }
        closeQuietly(ch);
        closed.complete(null);
      }));
      return closed;
    }

    private void checkIdle() {
      if (idle != null && inFlight <= 0) {
        idle.complete(null);
      }
    }
  }

  /**
   * Runs {@code task} (which closes a channel, a blocking RPC) on the io thread, never inside a
   * partition's lock or on a consumer thread; inline if io is gone.
   */
  private void offLock(Runnable task) {
    if (!host.schedule(task, 0)) {
      task.run();
    }
  }

  private void closeQuietly(Channel ch) {
    if (ch == null) {
      return;
    }
    try {
      ch.close();
    } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException e) {
      log.debug("instance {}: closing an ingress partition channel: {}", host.instanceId(), e.toString());
    }
  }
}
