package io.wsgateway;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

/**
 * A read-only view of an HTTP request the gateway received: a WebSocket handshake (given to the
 * {@link io.wsgateway.auth.Authenticator}) or a request to a host HTTP route. Immutable.
 */
public interface GatewayRequest {

  /** The HTTP method, e.g. {@code GET}. */
  String method();

  /** The decoded path, without the query string. */
  String path();

  /** The first value of a header (case-insensitive name), or {@code null}. */
  String header(String name);

  /** All headers, keyed by lower-case name. */
  Map<String, List<String>> headers();

  /** The first value of a query parameter, or {@code null}. */
  String queryParameter(String name);

  /** All query parameters. */
  Map<String, List<String>> queryParameters();

  /** The client's address. */
  InetSocketAddress remoteAddress();
}
