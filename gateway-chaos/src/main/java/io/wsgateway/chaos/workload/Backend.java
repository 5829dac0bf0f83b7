package io.wsgateway.chaos.workload;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.wsgateway.chaos.history.Event;
import io.wsgateway.chaos.history.History;
import io.wsgateway.chaos.history.Outcome;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The backend of the ingress stream: publishes numbered messages with message ids to users on the
 * gateways' ingress exchange ({@code {prefix}.ingress}, format of docs/backend.md), with publisher
 * confirms; each confirm (or nack, or the channel's loss before it) completes the message's operation
 * in the history. {@link #publish} is called from one thread only; confirms arrive on the connection's
 * thread. Its connection is named {@code chaos-backend-...}, so the RabbitMQ fault never closes it.
 */
public final class Backend implements AutoCloseable {

  /** The {@code "from"} of the backend's messages and the source of its streams. */
  public static final String NAME = "backend";

  private final String uri;
  private final String exchange;
  private final String connectionName;
  private final History history;
  private Connection connection;
  private volatile Pending current;

  /** One channel's unconfirmed publishes, by delivery tag. */
  private record Pending(Channel channel, ConcurrentNavigableMap<Long, String> tags) {}

  public Backend(String uri, String exchange, String connectionName, History history) {
    this.uri = uri;
    this.exchange = exchange;
    this.connectionName = connectionName;
    this.history = history;
  }

  /** Connects. */
  public void start() throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setUri(uri);
    f.setAutomaticRecoveryEnabled(false); // a lost channel is replaced by the next publish
    f.setConnectionTimeout(10_000);
    f.setChannelRpcTimeout(10_000);
    connection = f.newConnection(connectionName);
    current = open();
  }

  private Pending open() throws java.io.IOException {
    Channel ch = connection.createChannel();
    ch.confirmSelect();
    ConcurrentNavigableMap<Long, String> tags = new ConcurrentSkipListMap<>();
    Pending p = new Pending(ch, tags);
    ch.addConfirmListener((tag, multiple) -> settle(tags, tag, multiple, Outcome.ACKED, null),
        (tag, multiple) -> settle(tags, tag, multiple, Outcome.FAILED, "nack"));
    ch.addShutdownListener(cause -> {
      // Published, not confirmed, channel gone: RabbitMQ may or may not have routed them.
      for (Map.Entry<Long, String> e : tags.entrySet()) {
        if (tags.remove(e.getKey()) != null) {
          history.add(new Event.Complete(history.now(), e.getValue(), Outcome.UNKNOWN, "channel_closed"));
        }
      }
    });
    return p;
  }

  private void settle(ConcurrentNavigableMap<Long, String> tags, long tag, boolean multiple, Outcome outcome,
      String code) {
    Map<Long, String> done = multiple ? tags.headMap(tag, true) : tags.subMap(tag, true, tag, true);
    for (Map.Entry<Long, String> e : done.entrySet()) {
      if (tags.remove(e.getKey()) != null) {
        history.add(new Event.Complete(history.now(), e.getValue(), outcome, code));
      }
    }
  }

  /** Publishes message {@code p} to user {@code p.target()}; records the invocation, then the confirm. */
  public void publish(Payload p) {
    history.add(new Event.Invoke(history.now(), p.id(), p.kind(), p.source(), p.target(), p.n(), null));
    String body = "{\"to\":\"" + p.target() + "\",\"id\":\"" + p.id() + "\",\"from\":\"" + NAME + "\",\"data\":"
        + p.json() + "}";
    Pending pending = current;
    try {
      if (pending == null || !pending.channel().isOpen()) {
        pending = open();
        current = pending;
      }
    } catch (Exception e) {
      history.add(new Event.Complete(history.now(), p.id(), Outcome.FAILED, "channel_unavailable: " + e.getMessage()));
      return;
    }
    long tag = pending.channel().getNextPublishSeqNo();
    pending.tags().put(tag, p.id());
    try {
      pending.channel().basicPublish(exchange, "", new AMQP.BasicProperties.Builder()
          .contentType("application/json").messageId(p.id()).deliveryMode(2).build(),
          body.getBytes(StandardCharsets.UTF_8));
    } catch (Exception e) {
      if (pending.tags().remove(tag) != null) {
        // Closed before the write: not sent. Anything else: the bytes may have gone out.
        Outcome outcome = e instanceof com.rabbitmq.client.AlreadyClosedException ? Outcome.FAILED : Outcome.UNKNOWN;
        history.add(new Event.Complete(history.now(), p.id(), outcome, "publish_failed: " + e.getMessage()));
      }
    }
  }

  /** Publishes not yet confirmed, nacked or lost. */
  public int outstanding() {
    Pending p = current;
    return p == null ? 0 : p.tags().size();
  }

  @Override
  public void close() {
    try {
      if (connection != null) {
        connection.close(5_000);
      }
    } catch (Exception e) {
      // closing at the end of the run: nothing to do about it
    }
  }
}
