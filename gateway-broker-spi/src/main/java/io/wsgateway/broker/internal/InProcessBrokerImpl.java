package io.wsgateway.broker.internal;

import io.wsgateway.broker.BrokerEndpoint;
import io.wsgateway.broker.BrokerException;
import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.EnvelopeHandler;
import io.wsgateway.broker.MessageBroker;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** The in-process broker: a bounded queue drained by one daemon thread. */
public final class InProcessBrokerImpl implements MessageBroker {

  private static final Runnable STOP = () -> {};

  private final Map<String, Endpoint> inboxes = new ConcurrentHashMap<>();
  private final Map<String, Set<Endpoint>> topics = new ConcurrentHashMap<>();
  private final BlockingQueue<Runnable> queue;
  private final Thread deliverer;
  private final AtomicBoolean closed = new AtomicBoolean();

  public InProcessBrokerImpl(int queueCapacity) {
    this.queue = new ArrayBlockingQueue<>(queueCapacity);
    this.deliverer = new Thread(this::deliverLoop, "wsgateway-inprocess-broker");
    deliverer.setDaemon(true);
    deliverer.start();
  }

  private void deliverLoop() {
    while (true) {
      Runnable task;
      try {
        task = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      if (task == STOP) {
        return;
      }
      try {
        task.run();
      } catch (RuntimeException e) {
        // A handler's failure must not stop delivery to everyone else.
        System.getLogger(InProcessBrokerImpl.class.getName())
            .log(System.Logger.Level.WARNING, "envelope handler failed", e);
      }
    }
  }

  @Override
  public CompletionStage<BrokerEndpoint> attach(String instanceId, EnvelopeHandler handler) {
    if (closed.get()) {
      return CompletableFuture.failedFuture(new BrokerException(BrokerException.Reason.CLOSED, "broker closed"));
    }
    Endpoint endpoint = new Endpoint(instanceId, handler);
    Endpoint previous = inboxes.put(instanceId, endpoint);
    if (previous != null) {
      previous.detach();
    }
    return CompletableFuture.completedFuture(endpoint);
  }

  private CompletionStage<Void> enqueue(Runnable delivery) {
    if (closed.get()) {
      return CompletableFuture.failedFuture(new BrokerException(BrokerException.Reason.CLOSED, "broker closed"));
    }
    if (!queue.offer(delivery)) {
      return CompletableFuture.failedFuture(new BrokerException(
          BrokerException.Reason.OVERLOADED, "in-process broker queue full (" + queue.size() + " envelopes)"));
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      inboxes.clear();
      topics.clear();
      queue.clear();
      queue.offer(STOP);
      try {
        deliverer.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private final class Endpoint implements BrokerEndpoint {
    private final String instanceId;
    private final EnvelopeHandler handler;
    private final Set<String> subscriptions = ConcurrentHashMap.newKeySet();
    private volatile boolean detached;

    Endpoint(String instanceId, EnvelopeHandler handler) {
      this.instanceId = instanceId;
      this.handler = handler;
    }

    private CompletionStage<Void> closedFailure() {
      return CompletableFuture.failedFuture(
          new BrokerException(BrokerException.Reason.CLOSED, "endpoint " + instanceId + " closed"));
    }

    @Override
    public CompletionStage<Void> sendToInstance(String target, Envelope envelope) {
      if (detached) {
        return closedFailure();
      }
      Endpoint destination = inboxes.get(target);
      if (destination == null) {
        return CompletableFuture.failedFuture(
            new BrokerException(BrokerException.Reason.NO_ROUTE, "no inbox for instance " + target));
      }
      return enqueue(() -> {
        if (!destination.detached) {
          destination.handler.onEnvelope(envelope);
        }
      });
    }

    @Override
    public CompletionStage<Void> publish(String topic, Envelope envelope) {
      if (detached) {
        return closedFailure();
      }
      return enqueue(() -> {
        Set<Endpoint> subscribers = topics.get(topic);
        if (subscribers != null) {
          for (Endpoint subscriber : subscribers) {
            if (!subscriber.detached) {
              subscriber.handler.onEnvelope(envelope);
            }
          }
        }
      });
    }

    @Override
    public CompletionStage<Void> subscribe(String topic) {
      if (detached) {
        return closedFailure();
      }
      if (subscriptions.add(topic)) {
        topics.computeIfAbsent(topic, t -> ConcurrentHashMap.newKeySet()).add(this);
      }
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> unsubscribe(String topic) {
      if (subscriptions.remove(topic)) {
        removeFromTopic(topic);
      }
      return CompletableFuture.completedFuture(null);
    }

    private void removeFromTopic(String topic) {
      topics.computeIfPresent(topic, (t, set) -> {
        set.remove(this);
        return set.isEmpty() ? null : set;
      });
    }

    void detach() {
      detached = true;
      for (String topic : subscriptions) {
        removeFromTopic(topic);
      }
      subscriptions.clear();
    }

    @Override
    public CompletionStage<Void> close() {
      detach();
      inboxes.remove(instanceId, this);
      return CompletableFuture.completedFuture(null);
    }
  }
}
