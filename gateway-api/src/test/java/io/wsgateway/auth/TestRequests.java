package io.wsgateway.auth;

import io.wsgateway.GatewayRequest;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Builds {@link GatewayRequest}s for tests: a GET to {@code /ws} with chosen headers and query. */
final class TestRequests {

  private final Map<String, List<String>> headers = new LinkedHashMap<>();
  private final Map<String, List<String>> query = new LinkedHashMap<>();

  private TestRequests() {}

  static TestRequests get() {
    return new TestRequests();
  }

  TestRequests header(String name, String value) {
    headers.put(name.toLowerCase(Locale.ROOT), List.of(value));
    return this;
  }

  TestRequests query(String name, String value) {
    query.put(name, List.of(value));
    return this;
  }

  GatewayRequest build() {
    Map<String, List<String>> h = Map.copyOf(headers);
    Map<String, List<String>> q = Map.copyOf(query);
    return new GatewayRequest() {
      @Override
      public String method() {
        return "GET";
      }

      @Override
      public String path() {
        return "/ws";
      }

      @Override
      public String header(String name) {
        List<String> values = h.get(name.toLowerCase(Locale.ROOT));
        return values == null ? null : values.get(0);
      }

      @Override
      public Map<String, List<String>> headers() {
        return h;
      }

      @Override
      public String queryParameter(String name) {
        List<String> values = q.get(name);
        return values == null ? null : values.get(0);
      }

      @Override
      public Map<String, List<String>> queryParameters() {
        return q;
      }

      @Override
      public InetSocketAddress remoteAddress() {
        return new InetSocketAddress("127.0.0.1", 40000);
      }
    };
  }
}
