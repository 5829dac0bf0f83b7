package io.wsgateway.rabbit.internal;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AlreadyClosedException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.ShutdownSignalException;
import io.wsgateway.broker.Envelope;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves each message backends publish to the ingress exchange from the split queue to its recipient's
 * partition queue, in the order it arrived. The split queue has a single active consumer, so one
 * instance at a time does this, one message after another on one channel: what one publisher sent for
 * one recipient reaches the recipient's partition in publish order. Messages that do not parse go to
 * the dead-letter queue.
 *
 * <p>A message is acknowledged once its copy is confirmed, and only after every message before it
 * was (a contiguous prefix), so if a copy fails the splitter closes its channel: everything not yet
 * acknowledged goes back to the split queue in order and is copied again (duplicates, never
 * reordering; ingress ids let the gateway drop the duplicates). It reopens after the recovery interval;
 * another instance may have become the active consumer meanwhile.
 *
 * <p>Threading: deliveries arrive on the client's consumer thread; confirms on the endpoint's io
 * thread. The state is guarded by {@code this}.
 */
final class IngressSplitter {

  private static final Logger log = LoggerFactory.getLogger(IngressSplitter.class);

  private final IngressHost host;
  private final Topology topology;
  private final int partitions;
  private final int prefetch;
  private final long reopenMillis;
  private final long closeTimeoutMillis;

  // Guarded by this.
  private Channel channel;
  /** The consumer of {@link #channel}: callbacks of an earlier one (a closed channel) are ignored. */
  private Consumer consumer;
  private int generation;
  private final ArrayDeque<Item> unacked = new ArrayDeque<>();
  private boolean closing;
  private final CompletableFuture<Void> idle = new CompletableFuture<>();

  IngressSplitter(IngressHost host, Topology topology, int partitions, int prefetch, long reopenMillis,
      long closeTimeoutMillis) {
    this.host = host;
    this.topology = topology;
    this.partitions = partitions;
    this.prefetch = prefetch;
    this.reopenMillis = reopenMillis;
    this.closeTimeoutMillis = closeTimeoutMillis;
  }

  /** One message taken from the split queue, until it is acknowledged. */
  private static final class Item {
    final long tag;
    boolean done;
    /** Dead-lettered: acknowledged (or rejected) on its own, not as part of the prefix. */
    boolean settledAlone;

    Item(long tag) {
      this.tag = tag;
    }
  }

  /** Starts consuming the split queue (a blocking RPC; on io). */
  void start() throws IOException {
    Channel ch = host.newChannel();
    ch.basicQos(prefetch);
    synchronized (this) {
      if (closing) {
        closeQuietly(ch);
        return;
      }
      channel = ch;
      consumer = new Consumer(ch);
    }
    ch.basicConsume(topology.ingressSplitQueue, false, "split-" + host.instanceId(), consumer);
  }

  private final class Consumer extends DefaultConsumer {
    private int consumerGeneration;

    Consumer(Channel channel) {
      super(channel);
    }

    @Override
    public void handleConsumeOk(String consumerTag) {
      // Registered, or registered again after the connection recovered: a fresh numbering of
      // deliveries, and whatever was unacknowledged before went back to the queue.
      synchronized (IngressSplitter.this) {
        if (consumer != this) {
          return;
        }
        generation++;
        consumerGeneration = generation;
        unacked.clear();
      }
    }

    @Override
    public void handleShutdownSignal(String consumerTag, ShutdownSignalException sig) {
      synchronized (IngressSplitter.this) {
        if (consumer != this) {
          return;
        }
        // What was unacknowledged went back to the queue; copies still in flight are stale.
        generation++;
        unacked.clear();
        checkIdle();
      }
    }

    @Override
    public void handleDelivery(String tag, com.rabbitmq.client.Envelope delivery, AMQP.BasicProperties props, byte[] body) {
      Channel ch = getChannel();
      Item item = new Item(delivery.getDeliveryTag());
      int gen;
      synchronized (IngressSplitter.this) {
        if (closing || consumer != this || consumerGeneration != generation) {
          return; // Left unacknowledged: it goes back to the queue with the channel.
        }
        gen = generation;
        unacked.add(item);
      }
      Envelope envelope;
      try {
        envelope = host.parser().parse(body);
      } catch (IllegalArgumentException e) {
        host.deadLetter(ch, item.tag, props, body, topology.ingressSplitQueue, e.getMessage(), () -> done(gen, item, false));
        return;
      }
      int partition = Topology.partitionOf(Topology.recipientKey(envelope), partitions);
      Map<String, Object> headers = props.getHeaders() == null ? Map.of() : props.getHeaders();
      host.copy(topology.ingressPartition(partition), props, body, headers).whenComplete((v, e) -> {
        if (e == null) {
          done(gen, item, true);
        } else {
          failed(gen, e);
        }
      });
    }
  }

  /** {@code item} is copied (or dead-lettered and acknowledged already): acknowledge the done prefix. */
  private synchronized void done(int gen, Item item, boolean ack) {
    if (gen != generation) {
      return;
    }
    item.done = true;
    item.settledAlone = !ack;
    // Acknowledge up to the last copied message of the done prefix, all at once (multiple): a
    // dead-lettered one inside the range was settled already and is simply no longer outstanding.
    long last = -1;
    while (!unacked.isEmpty() && unacked.peek().done) {
      Item head = unacked.poll();
      if (!head.settledAlone) {
        last = head.tag;
      }
    }
    if (last >= 0 && channel != null) {
      try {
        channel.basicAck(last, true);
      } catch (IOException | AlreadyClosedException e) {
        log.debug("instance {}: could not acknowledge split messages: {}", host.instanceId(), e.toString());
      }
    }
    checkIdle();
  }

  /** A copy failed: send everything unacknowledged back to the split queue, in order, and start again. */
  private void failed(int gen, Throwable cause) {
    Channel old;
    synchronized (this) {
      if (gen != generation || closing) {
        checkIdle();
        return;
      }
      log.warn("instance {}: copying an ingress message to its partition failed ({}); handing the split queue back "
          + "and consuming it again in {} ms", host.instanceId(), cause.toString(), reopenMillis);
      generation++;
      unacked.clear();
      old = channel;
      channel = null;
    }
    closeQuietly(old);
    host.schedule(() -> {
      try {
        start();
      } catch (IOException | RuntimeException e) {
        log.warn("instance {}: could not consume the split queue again", host.instanceId(), e);
        failed(generationNow(), e);
      }
    }, reopenMillis);
  }

  private synchronized int generationNow() {
    return generation;
  }

  /**
   * Stops taking messages, waits (at most the close timeout) until every copy in flight is confirmed
   * and acknowledged, then closes the channel: what was not acknowledged goes back to the queue, in
   * order, for the next active consumer.
   */
  CompletableFuture<Void> close() {
    synchronized (this) {
      closing = true;
      checkIdle();
    }
    CompletableFuture<Void> closed = new CompletableFuture<>();
    Runnable closeChannel = () -> {
      Channel ch;
      synchronized (this) {
        ch = channel;
        channel = null;
      }
      closeQuietly(ch);
      closed.complete(null);
    };
    // On io, not inside done()'s lock: closing a channel waits for the server's reply.
    idle.completeOnTimeout(null, closeTimeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS).thenRun(() -> {
      if (!host.schedule(closeChannel, 0)) {
        closeChannel.run();
      }
    });
    return closed;
  }

  private void checkIdle() {
    if (closing && unacked.stream().allMatch(i -> i.done)) {
      idle.complete(null);
    }
  }

  private void closeQuietly(Channel ch) {
    if (ch == null) {
      return;
    }
    try {
      ch.close();
    } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException e) {
      log.debug("instance {}: closing the split channel: {}", host.instanceId(), e.toString());
    }
  }
}
