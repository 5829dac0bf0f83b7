package io.wsgateway.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.wsgateway.Gateway;
import io.wsgateway.GatewayState;
import io.wsgateway.auth.JwtAuthenticator;
import io.wsgateway.netty.testing.RawWebSocket;
import io.wsgateway.netty.testing.RawWebSocket.HttpResult;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

@DisplayName("The admin listener")
class AdminEndpointTest {

  private static final byte[] SECRET = "admin-test-secret-admin-test-secret-0123".getBytes(StandardCharsets.UTF_8);
  private static final String TOKEN = "op-token-0123456789abcdef";

  private Gateway gateway;

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private Gateway start(GatewayOptions.Builder options) {
    gateway = NettyGateway.builder()
        .options(options.host("127.0.0.1").port(0).adminPort(0).build())
        .authenticator(JwtAuthenticator.builder().hmacSecret(SECRET).build())
        .build();
    gateway.start();
    return gateway;
  }

  /** A raw request to the admin port with exactly these headers (Host included, or not). */
  private HttpResult request(String method, String path, Map<String, String> headers) throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", gateway.adminPort()), 5_000);
      socket.setSoTimeout(10_000);
      StringBuilder req = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
      headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
      req.append("Content-Length: 0\r\nConnection: close\r\n\r\n");
      socket.getOutputStream().write(req.toString().getBytes(StandardCharsets.US_ASCII));
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      String response = all.toString(StandardCharsets.UTF_8);
      int status = Integer.parseInt(response.split(" ")[1]);
      int split = response.indexOf("\r\n\r\n");
      Map<String, String> h = new LinkedHashMap<>();
      for (String line : response.substring(0, split).split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          h.put(line.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT), line.substring(colon + 1).trim());
        }
      }
      return new HttpResult(status, h, response.substring(split + 4));
    }
  }

  private Map<String, String> headers(String... pairs) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Host", "127.0.0.1:" + gateway.adminPort());
    for (int i = 0; i < pairs.length; i += 2) {
      if (pairs[i + 1] == null) {
        h.remove(pairs[i]);
      } else {
        h.put(pairs[i], pairs[i + 1]);
      }
    }
    return h;
  }

  private static void assertRejected(HttpResult r, int status, String code) {
    assertEquals(status, r.status(), r.body());
    assertTrue(r.body().startsWith("{\"error\":\"" + code + "\""), r.body());
  }

  @Nested
  @DisplayName("without an admin token")
  class NoToken {

    @Test
    @DisplayName("refuses a request that carries Origin (a browser, maybe on another site) with 403, even POST /admin/drain")
    void origin() throws Exception {
      start(GatewayOptions.builder());
      HttpResult r = request("POST", "/admin/drain", headers("Origin", "https://evil.example"));
      assertRejected(r, 403, "origin_not_allowed");
      assertEquals("{\"error\":\"origin_not_allowed\",\"message\":\"admin endpoints do not serve browsers "
          + "(Origin: https://evil.example)\"}", r.body());
      assertRejected(request("GET", "/admin/state", headers("Origin", "null")), 403, "origin_not_allowed");
      assertEquals(GatewayState.RUNNING, gateway.state());
    }

    @Test
    @DisplayName("refuses a Host that is not loopback, the admin host or the address dialled (DNS rebinding) with 403")
    void host() throws Exception {
      start(GatewayOptions.builder());
      HttpResult r = request("POST", "/admin/drain", headers("Host", "rebind.evil.example:" + gateway.adminPort()));
      assertRejected(r, 403, "host_not_allowed");
      assertEquals("{\"error\":\"host_not_allowed\",\"message\":\"Host rebind.evil.example is not this admin "
          + "listener (expected: localhost, a loopback or the listener's address)\"}", r.body());
      assertRejected(request("GET", "/admin/state", headers("Host", "x")), 403, "host_not_allowed");
      assertEquals(GatewayState.RUNNING, gateway.state());
    }

    @Test
    @DisplayName("serves localhost, loopback literals and requests without Host")
    void allowedHosts() throws Exception {
      start(GatewayOptions.builder());
      for (String host : new String[] {"localhost", "LOCALHOST:1", "127.0.0.1", "127.0.0.1:" + gateway.adminPort(),
          "127.1.2.3", "[::1]:80", "[::1]", null}) {
        assertEquals(200, request("GET", "/admin/state", headers("Host", host)).status(), String.valueOf(host));
      }
    }

    @Test
    @DisplayName("serves health and readiness to probes whatever their Host")
    void probes() throws Exception {
      start(GatewayOptions.builder().adminToken(TOKEN));
      assertEquals(200, request("GET", "/health", headers("Host", "10.1.2.3:8081")).status());
      assertEquals(200, request("GET", "/ready", headers("Host", "gateway-7.internal")).status());
    }
  }

  @Nested
  @DisplayName("with an admin token")
  class WithToken {

    @Test
    @DisplayName("refuses admin routes without the bearer token (401 with WWW-Authenticate) or with a wrong one")
    void tokenRequired() throws Exception {
      start(GatewayOptions.builder().adminToken(TOKEN));
      HttpResult missing = request("POST", "/admin/drain", headers());
      assertRejected(missing, 401, "unauthorized");
      assertEquals("Bearer realm=\"wsgateway-admin\"", missing.headers().get("www-authenticate"));
      assertRejected(request("GET", "/admin/state", headers("Authorization", "Bearer wrong-token-0123456789")),
          401, "unauthorized");
      assertRejected(request("GET", "/admin/state", headers("Authorization", "Basic " + TOKEN)), 401, "unauthorized");
      assertEquals(GatewayState.RUNNING, gateway.state());
    }

    @Test
    @DisplayName("serves the state and the drain with the right token")
    void tokenAccepted() throws Exception {
      start(GatewayOptions.builder().adminToken(TOKEN));
      HttpResult state = request("GET", "/admin/state", headers("Authorization", "Bearer " + TOKEN));
      assertEquals(200, state.status(), state.body());
      assertTrue(state.body().contains("\"state\":\"running\""), state.body());
      HttpResult drain = request("POST", "/admin/drain", headers("Authorization", "bearer " + TOKEN));
      assertEquals(202, drain.status(), drain.body());
    }

    @Test
    @DisplayName("still refuses Origin and foreign Host with the right token")
    void tokenDoesNotLiftOriginAndHost() throws Exception {
      start(GatewayOptions.builder().adminToken(TOKEN));
      assertRejected(request("GET", "/admin/state", headers("Authorization", "Bearer " + TOKEN,
          "Origin", "http://localhost:3000")), 403, "origin_not_allowed");
      assertRejected(request("GET", "/admin/state", headers("Authorization", "Bearer " + TOKEN,
          "Host", "evil.example")), 403, "host_not_allowed");
    }
  }

  @Test
  @DisplayName("an admin token shorter than 16 characters or with spaces is refused, and never printed")
  void tokenValidation() {
    GatewayOptions.Builder b = GatewayOptions.builder();
    assertEquals("adminToken: 5 characters (expected: >= 16 visible ASCII characters, no spaces)",
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> b.adminToken("short"))
            .getMessage());
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> b.adminToken("sixteen chars ok"));
    String printed = b.adminToken(TOKEN).build().toString();
    assertTrue(printed.contains("adminToken=<set>"), printed);
    assertTrue(!printed.contains(TOKEN), printed);
    assertTrue(GatewayOptions.defaults().toString().contains("adminToken=null"));
  }

  @Test
  @DisplayName("the public port serves no admin route")
  void publicPort() throws Exception {
    start(GatewayOptions.builder().adminToken(TOKEN));
    assertEquals(404, RawWebSocket.get(gateway.port(), "/admin/state",
        Map.of("Authorization", "Bearer " + TOKEN)).status());
  }
}
