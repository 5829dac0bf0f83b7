package io.wsgateway.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DeliverCallback;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An example backend service that talks to users through the gateway without holding a connection:
 * it consumes client frames of type {@code bot.*} from the upstream exchange and answers each sender
 * through the ingress exchange. Any language with an AMQP client can do the same; see
 * docs/backend.md.
 *
 * <p>Run: {@code java -cp examples/target/gateway-example.jar io.wsgateway.examples.ExampleBackend}
 * with {@code GATEWAY_RABBIT_URI} (default {@code amqp://guest:guest@127.0.0.1:5672}) and optionally
 * {@code GATEWAY_RABBIT_PREFIX} (default {@code wsgateway}). A client then sends {@code
 * {"type":"bot.ask","text":"hi"}} and receives a {@code message} from {@code bot}.
 */
public final class ExampleBackend implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ExampleBackend.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The backend's queue takes every upstream frame whose type starts with {@code bot.}. */
  static final String BINDING = "bot.#";

  private final Connection connection;
  private final Channel channel;
  private final String ingressExchange;

  private ExampleBackend(Connection connection, String prefix) throws IOException {
    this.connection = connection;
    this.channel = connection.createChannel();
    this.ingressExchange = prefix + ".ingress";
    String upstream = prefix + ".upstream";
    channel.exchangeDeclare(upstream, "topic", true);
    // A durable shared queue: several backend replicas compete for the frames.
    String queue = prefix + ".backend.bot";
    channel.queueDeclare(queue, true, false, false, null);
    channel.queueBind(queue, upstream, BINDING);
    channel.basicQos(64);
    DeliverCallback onFrame = (tag, delivery) -> {
      try {
        answer(delivery.getProperties(), delivery.getBody());
      } finally {
        channel.basicAck(delivery.getEnvelope().getDeliveryTag(), false);
      }
    };
    channel.basicConsume(queue, false, onFrame, tag -> { });
  }

  /** Starts consuming; close it to stop. */
  public static ExampleBackend start(String rabbitUri, String prefix) throws Exception {
    ConnectionFactory factory = new ConnectionFactory();
    factory.setUri(rabbitUri);
    factory.setAutomaticRecoveryEnabled(true);
    return new ExampleBackend(factory.newConnection("wsgateway-example-backend"), prefix);
  }

  private void answer(AMQP.BasicProperties props, byte[] body) throws IOException {
    Map<String, Object> headers = props.getHeaders();
    Object user = headers == null ? null : headers.get("user_id");
    if (user == null) {
      log.warn("upstream frame without user_id header; ignored");
      return;
    }
    JsonNode frame;
    try {
      frame = JSON.readTree(body);
    } catch (IOException e) {
      log.warn("upstream frame is not JSON; ignored");
      return;
    }
    ObjectNode reply = JSON.createObjectNode();
    reply.put("to", user.toString());
    reply.put("from", "bot");
    ObjectNode data = reply.putObject("data");
    data.put("reply_to", frame.path("type").asText());
    data.put("text", "you said: " + frame.path("text").asText(""));
    channel.basicPublish(ingressExchange, "", new AMQP.BasicProperties.Builder().contentType("application/json").build(),
        JSON.writeValueAsBytes(reply));
  }

  @Override
  public void close() throws IOException {
    connection.close();
  }

  public static void main(String[] args) throws Exception {
    String uri = System.getenv().getOrDefault("GATEWAY_RABBIT_URI", "amqp://guest:guest@127.0.0.1:5672");
    String prefix = System.getenv().getOrDefault("GATEWAY_RABBIT_PREFIX", "wsgateway");
    ExampleBackend backend = start(uri, prefix);
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        backend.close();
      } catch (IOException ignored) {
        // exiting anyway
      }
      stop.countDown();
    }));
    System.out.println("example backend: answering bot.* frames via " + prefix + ".upstream -> " + prefix + ".ingress");
    stop.await();
  }
}
