package io.wsgateway.chaos.env;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("RabbitMQ administration")
class RabbitAdminTest {

  @Test
  @DisplayName("finds the gateways' connections in rabbitmqctl's listing, by connection name")
  void parse() {
    String listing = String.join("\n",
        "<rabbit@localhost.1796324365.1608.0>\t[{\"connection_name\",\"wsgateway-g1-ab12\"},{\"product\",\"RabbitMQ\"}]",
        "<rabbit@localhost.1796324365.1700.0>\t[{\"connection_name\",\"chaos-backend-ab12\"},{\"product\",\"RabbitMQ\"}]",
        "<rabbit@localhost.1796324365.1801.0>\t[{\"product\",\"RabbitMQ\"}]", "");
    List<String[]> found = RabbitAdmin.parse(listing);
    assertEquals(1, found.size());
    assertArrayEquals(new String[] {"<rabbit@localhost.1796324365.1608.0>", "wsgateway-g1-ab12"}, found.get(0));
  }

  @Test
  @DisplayName("deletes the run's queues: ingress, orphans and every instance's inbox")
  void queues() {
    assertEquals(List.of("chaos.ab12.ingress", "chaos.ab12.orphans", "chaos.ab12.inbox.g1-ab12",
        "chaos.ab12.inbox.g4-ab12"), RabbitAdmin.queues("chaos.ab12", List.of("g1-ab12", "g4-ab12")));
  }
}
