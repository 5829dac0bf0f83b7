package io.wsgateway.chaos.workload;

import io.wsgateway.chaos.history.Event;
import io.wsgateway.chaos.history.History;
import io.wsgateway.chaos.history.Outcome;
import io.wsgateway.chaos.net.ClientProxy;
import io.wsgateway.client.ClientException;
import io.wsgateway.client.ClientListener;
import io.wsgateway.client.ClientMessage;
import io.wsgateway.client.ClientState;
import io.wsgateway.client.GatewayClient;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One workload user: a {@link GatewayClient} connected through its own {@link ClientProxy}, and the
 * listener that records what it sees into the history: deliveries, welcomes, disconnects, loss signals
 * and errors, and the outcome of every operation. Listener methods run on the client's event loop, one
 * at a time; the operation methods may be called from any thread.
 */
public final class ChaosClient implements ClientListener, AutoCloseable {

  /**
   * {@code onError} codes that tell the application its history may be lost: {@code resume_failed}
   * (gateway-client's {@link ClientException#RESUME_FAILED}) and the names a gap signal may take.
   */
  public static final Set<String> LOSS_SIGNALS = Set.of(ClientException.RESUME_FAILED, ClientException.GAP,
      ClientException.TOPIC_GAP, "history_lost");
  /** How often the harness retries a subscribe that failed. */
  private static final long SUBSCRIBE_RETRY_MILLIS = 1_000;

  private final int index;
  private final String user;
  private final ClientProxy proxy;
  private final History history;
  private final ScheduledExecutorService timer;
  private final Set<String> topics = ConcurrentHashMap.newKeySet();
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile GatewayClient client;
  private volatile boolean closed;
  // Written on the client's event loop; volatile for the workload thread's reads.
  private volatile String session;
  private volatile String sessionBefore;
  private volatile String instance;
  private volatile String lastError;

  /**
   * @param timer runs subscribe retries
   */
  public ChaosClient(int index, String user, ClientProxy proxy, History history, ScheduledExecutorService timer) {
    this.index = index;
    this.user = user;
    this.proxy = proxy;
    this.history = history;
    this.timer = timer;
  }

  /** Attaches the client built with this listener; call once, before connecting. */
  public void attach(GatewayClient c) {
    this.client = c;
  }

  public int index() {
    return index;
  }

  public String user() {
    return user;
  }

  public ClientProxy proxy() {
    return proxy;
  }

  public GatewayClient client() {
    return client;
  }

  /** Operations invoked and not yet completed. */
  public int inFlight() {
    return inFlight.get();
  }

  /** Whether the client is connected now. */
  public boolean connected() {
    return client.state() == ClientState.CONNECTED;
  }

  /** The instance of the current connection, or {@code null} between connections. */
  public String instance() {
    return instance;
  }

  /** Sends message {@code p} to {@code p.target()}, recording the invocation and its outcome. */
  public void send(Payload p) {
    invoke(p);
    track(p, client.send(p.target(), p.json()).toCompletableFuture());
  }

  /** Publishes message {@code p} to topic {@code p.target()}, recording the invocation and its outcome. */
  public void publish(Payload p) {
    invoke(p);
    track(p, client.publish(p.target(), p.json()).toCompletableFuture());
  }

  /**
   * Subscribes to {@code topic}, retrying until acked; the ack is recorded as {@link Event.Subscribed}.
   * The returned stage completes at the ack.
   */
  public CompletableFuture<Void> subscribe(String topic) {
    topics.add(topic);
    CompletableFuture<Void> done = new CompletableFuture<>();
    trySubscribe(topic, done);
    return done;
  }

  private void trySubscribe(String topic, CompletableFuture<Void> done) {
    if (closed) {
      done.completeExceptionally(new IllegalStateException("closed"));
      return;
    }
    client.subscribe(topic).whenComplete((v, e) -> {
      if (e == null) {
        history.add(new Event.Subscribed(history.now(), user, topic));
        done.complete(null);
      } else if (!closed) {
        history.add(new Event.ClientError(history.now(), user, "subscribe_failed", topic + ": " + code(e)));
        timer.schedule(() -> trySubscribe(topic, done), SUBSCRIBE_RETRY_MILLIS, TimeUnit.MILLISECONDS);
      }
    });
  }

  private void invoke(Payload p) {
    String via = client.state() == ClientState.CONNECTED ? instance : null;
    inFlight.incrementAndGet();
    history.add(new Event.Invoke(history.now(), p.id(), p.kind(), p.source(), p.target(), p.n(), via));
  }

  private void track(Payload p, CompletableFuture<Void> op) {
    op.whenComplete((v, e) -> {
      inFlight.decrementAndGet();
      if (e == null) {
        history.add(new Event.Complete(history.now(), p.id(), Outcome.ACKED, null));
      } else {
        String code = code(e);
        history.add(new Event.Complete(history.now(), p.id(), outcome(code), code));
      }
    });
  }

  /** What an operation's failure code says about its message. */
  static Outcome outcome(String code) {
    return switch (code) {
      // The frame may have reached the gateway: delivered or not, nobody can say.
      case ClientException.CONNECTION_LOST, ClientException.ACK_TIMEOUT, ClientException.CLIENT_CLOSED -> Outcome.UNKNOWN;
      default -> Outcome.FAILED;
    };
  }

  private static String code(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    return cause instanceof ClientException ce ? ce.code() : cause.getClass().getSimpleName();
  }

  // ---- listener, on the client's event loop

  @Override
  public void onMessage(ClientMessage m) {
    Payload p = Payload.parse(m.data());
    if (p == null) {
      history.add(new Event.Deliver(history.now(), user, session, m.seq(), null, null, null, null, 0, instance, m.data()));
    } else {
      history.add(new Event.Deliver(history.now(), user, session, m.seq(), p.id(), p.kind(), p.source(), p.target(),
          p.n(), instance, null));
    }
  }

  @Override
  public void onStateChanged(ClientState from, ClientState to) {
    if (to == ClientState.CONNECTED) {
      String now = client.sessionId();
      boolean resumed = session != null && session.equals(now);
      sessionBefore = session;
      session = now;
      instance = proxy.lastInstance();
      history.add(new Event.Connected(history.now(), user, now, resumed, instance));
    } else if (from == ClientState.CONNECTED) {
      history.add(new Event.Disconnected(history.now(), user, lastError == null ? "closed by the client" : lastError));
      lastError = null;
      instance = null;
    }
  }

  @Override
  public void onError(String code, String message) {
    if (LOSS_SIGNALS.contains(code)) {
      boolean reset = code.equals(ClientException.RESUME_FAILED);
      history.add(new Event.LossSignal(history.now(), user, code, message, reset ? sessionBefore : session, reset));
      if (reset) {
        // The new session has no subscriptions until re-subscribed: topic messages are due again from our ack.
        for (String topic : topics) {
          trySubscribe(topic, new CompletableFuture<>());
        }
      }
      return;
    }
    if (code.equals(ClientException.CONNECTION_LOST)) {
      lastError = code + ": " + message; // recorded with the Disconnected event that follows at once
      return;
    }
    history.add(new Event.ClientError(history.now(), user, code, message));
  }

  /**
   * A frame the client does not handle itself. A frame whose type is a loss signal (a gap frame, should
   * the protocol grow one) counts as one for the current session; anything else is recorded.
   */
  @Override
  public void onFrame(String type, String json) {
    if (LOSS_SIGNALS.contains(type)) {
      history.add(new Event.LossSignal(history.now(), user, type, json, session, false));
    } else {
      history.add(new Event.ClientError(history.now(), user, "frame", json));
    }
  }

  @Override
  public void close() {
    closed = true;
    GatewayClient c = client;
    if (c != null) {
      c.close();
    }
  }
}
