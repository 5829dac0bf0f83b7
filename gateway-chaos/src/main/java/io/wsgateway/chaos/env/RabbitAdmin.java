package io.wsgateway.chaos.env;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The run's dealings with the shared RabbitMQ beyond the gateways' own: force-closing the gateways'
 * connections with {@code rabbitmqctl}, and deleting the run's exchanges and queues at the end (only
 * names under the run's prefix, never anyone else's). Stateless; blocking.
 */
public final class RabbitAdmin {

  /** The client-provided name of a gateway's AMQP connection (docs/backend.md): {@code wsgateway-{instanceId}}. */
  static final String CONNECTION_NAME_PREFIX = "wsgateway-";
  private static final Pattern CONNECTION_NAME = Pattern.compile("\"connection_name\",\"([^\"]+)\"");
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

  private final String rabbitmqctl;
  private final String uri;

  public RabbitAdmin(String rabbitmqctl, String uri) {
    this.rabbitmqctl = rabbitmqctl;
    this.uri = uri;
  }

  /** A gateway's AMQP connection: the broker's process id for it and its client-provided name. */
  public record GatewayConnection(String pid, String name) {}

  /**
   * The AMQP connections of the given gateway instances, found by their connection name in {@code
   * rabbitmqctl list_connections}.
   */
  public List<GatewayConnection> find(Collection<String> instanceIds) throws IOException {
    Processes.Result list = Processes.run(COMMAND_TIMEOUT, List.of(rabbitmqctl, "-q", "list_connections", "pid",
        "client_properties"));
    if (list.exit() != 0) {
      throw new IOException("rabbitmqctl list_connections exited " + list.exit() + ": " + list.output().strip());
    }
    List<GatewayConnection> found = new ArrayList<>();
    for (String[] c : parse(list.output())) {
      if (instanceIds.contains(c[1].substring(CONNECTION_NAME_PREFIX.length()))) {
        found.add(new GatewayConnection(c[0], c[1]));
      }
    }
    return found;
  }

  /** Force-closes one connection ({@code rabbitmqctl close_connection}); the gateway sees CONNECTION_FORCED. */
  public void close(GatewayConnection c) throws IOException {
    Processes.Result r = Processes.run(COMMAND_TIMEOUT, List.of(rabbitmqctl, "-q", "close_connection", c.pid(),
        "chaos: forced close"));
    if (r.exit() != 0) {
      throw new IOException("rabbitmqctl close_connection " + c.pid() + " (" + c.name() + ") exited " + r.exit()
          + ": " + r.output().strip());
    }
  }

  /** (pid, connection name) of the gateway connections in {@code list_connections pid client_properties} output. */
  static List<String[]> parse(String output) {
    List<String[]> found = new ArrayList<>();
    for (String line : output.split("\n")) {
      int tab = line.indexOf('\t');
      if (tab < 0) {
        continue;
      }
      Matcher m = CONNECTION_NAME.matcher(line);
      if (m.find() && m.group(1).startsWith(CONNECTION_NAME_PREFIX)) {
        found.add(new String[] {line.substring(0, tab).strip(), m.group(1)});
      }
    }
    return found;
  }

  /**
   * Deletes what the gateways of this run declared under {@code prefix} (docs/backend.md, "Clean-up"):
   * the exchanges, the ingress and orphans queues, the inbox of every instance id that ran, and any
   * other queue or exchange whose name starts with {@code prefix.} (the prefix is unique to the run,
   * so this takes nobody else's; it catches names a newer gateway may declare). Returns what could not
   * be deleted (for the log); never throws for a single name.
   */
  public List<String> cleanUp(String prefix, Collection<String> instanceIds) {
    List<String> problems = new ArrayList<>();
    java.util.Set<String> queues = new java.util.LinkedHashSet<>(queues(prefix, instanceIds));
    java.util.Set<String> exchanges = new java.util.LinkedHashSet<>();
    for (String x : List.of(".inbox", ".topics", ".ingress", ".upstream")) {
      exchanges.add(prefix + x);
    }
    try {
      queues.addAll(listed("list_queues", prefix));
      exchanges.addAll(listed("list_exchanges", prefix));
    } catch (IOException e) {
      problems.add("listing: " + e.getMessage());
    }
    ConnectionFactory f = new ConnectionFactory();
    f.setConnectionTimeout(10_000);
    f.setChannelRpcTimeout(10_000); // the default, 10 minutes, would not bound the clean-up
    try {
      f.setUri(uri);
    } catch (Exception e) {
      problems.add("uri: " + e);
      return problems;
    }
    try (Connection c = f.newConnection("chaos-cleanup-" + prefix)) {
      for (String q : queues) {
        try (Channel ch = c.createChannel()) {
          ch.queueDelete(q);
        } catch (Exception e) {
          problems.add("queue " + q + ": " + e.getMessage());
        }
      }
      for (String x : exchanges) {
        try (Channel ch = c.createChannel()) {
          ch.exchangeDelete(x);
        } catch (Exception e) {
          problems.add("exchange " + x + ": " + e.getMessage());
        }
      }
    } catch (Exception e) {
      problems.add("connection: " + e);
    }
    return problems;
  }

  /** Names listed by {@code rabbitmqctl <what> name} that start with {@code prefix.}. */
  private List<String> listed(String what, String prefix) throws IOException {
    Processes.Result r = Processes.run(COMMAND_TIMEOUT, List.of(rabbitmqctl, "-q", what, "name"));
    if (r.exit() != 0) {
      throw new IOException("rabbitmqctl " + what + " exited " + r.exit() + ": " + r.output().strip());
    }
    List<String> names = new ArrayList<>();
    for (String line : r.output().split("\n")) {
      String name = line.strip();
      if (name.startsWith(prefix + ".")) {
        names.add(name);
      }
    }
    return names;
  }

  static List<String> queues(String prefix, Collection<String> instanceIds) {
    List<String> q = new ArrayList<>(List.of(prefix + ".ingress", prefix + ".orphans"));
    for (String id : instanceIds) {
      q.add(prefix + ".inbox." + id);
    }
    return q;
  }
}
