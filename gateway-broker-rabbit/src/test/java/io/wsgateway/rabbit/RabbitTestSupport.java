package io.wsgateway.rabbit;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * What tests against the real RabbitMQ share: a unique name prefix per test class, a plain client for
 * inspecting and cleaning up, and {@code rabbitmqctl} to drop a broker's connection from the server.
 */
final class RabbitTestSupport implements AutoCloseable {

  static final String URI = System.getProperty("wsgateway.test.rabbitUri", RabbitBrokerOptions.DEFAULT_URI);

  final String prefix = "wsgwtest." + UUID.randomUUID();
  private final Connection connection;
  final Channel channel;

  RabbitTestSupport() throws Exception {
    ConnectionFactory factory = new ConnectionFactory();
    factory.setUri(URI);
    factory.setAutomaticRecoveryEnabled(false);
    connection = factory.newConnection("wsgateway-test-support");
    channel = connection.createChannel();
  }

  /** Options for brokers under test: the test's prefix and short timeouts so failures show quickly. */
  RabbitBrokerOptions.Builder options() {
    return RabbitBrokerOptions.builder().uri(URI).exchangePrefix(prefix);
  }

  /** A fresh channel (a channel error in a test must not break cleanup). */
  Channel newChannel() throws IOException {
    return connection.createChannel();
  }

  /** Deletes every exchange and queue under the prefix, then closes the client. */
  @Override
  public void close() throws Exception {
    try (Channel ch = connection.createChannel()) {
      for (String queue : queuesWithPrefix()) {
        ch.queueDelete(queue);
      }
      ch.queueDelete(prefix + ".ingress");
      ch.queueDelete(prefix + ".orphans");
      for (String exchange : List.of(".inbox", ".topics", ".ingress", ".upstream")) {
        ch.exchangeDelete(prefix + exchange);
      }
    } finally {
      connection.close();
    }
  }

  private List<String> queuesWithPrefix() throws Exception {
    List<String> queues = new ArrayList<>();
    for (String line : rabbitmqctl("list_queues", "-q", "--no-table-headers", "name")) {
      if (line.trim().startsWith(prefix)) {
        queues.add(line.trim());
      }
    }
    return queues;
  }

  /**
   * Closes, from the server side, the connection whose client-provided name is {@code name}, as a
   * network failure or an operator would.
   *
   * @return how many connections were closed
   */
  static int closeConnection(String name) throws Exception {
    int closed = 0;
    // rabbitmqctl prints client properties as [{"connection_name","wsgateway-..."},...].
    String marker = "{\"connection_name\",\"" + name + "\"}";
    for (String line : rabbitmqctl("list_connections", "-q", "--no-table-headers", "pid", "client_properties")) {
      if (line.contains(marker)) {
        String pid = line.substring(0, line.indexOf('>') + 1).trim();
        rabbitmqctl("close_connection", pid, "test");
        closed++;
      }
    }
    return closed;
  }

  private static List<String> rabbitmqctl(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add("rabbitmqctl");
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] output = process.getInputStream().readAllBytes();
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IllegalStateException("rabbitmqctl " + String.join(" ", args) + " failed: "
          + new String(output, StandardCharsets.UTF_8));
    }
    return new String(output, StandardCharsets.UTF_8).lines().toList();
  }
}
