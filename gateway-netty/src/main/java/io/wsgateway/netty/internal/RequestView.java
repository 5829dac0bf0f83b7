package io.wsgateway.netty.internal;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.wsgateway.GatewayRequest;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A {@link GatewayRequest} over a Netty request; the header map is built only if asked for. */
final class RequestView implements GatewayRequest {

  private final String method;
  private final io.netty.handler.codec.http.HttpHeaders headers;
  private final QueryStringDecoder query;
  private final InetSocketAddress remoteAddress;

  RequestView(FullHttpRequest request, QueryStringDecoder query, InetSocketAddress remoteAddress) {
    this.method = request.method().name();
    // Not a copy: releasing the request frees its content buffer only; its headers are plain objects
    // that nothing changes after the aggregator built the request, so an asynchronous authenticator
    // may still read them after the release.
    this.headers = request.headers();
    this.query = query;
    this.remoteAddress = remoteAddress;
  }

  @Override
  public String method() {
    return method;
  }

  @Override
  public String path() {
    return query.path();
  }

  @Override
  public String header(String name) {
    return headers.get(name);
  }

  @Override
  public Map<String, List<String>> headers() {
    Map<String, List<String>> map = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : headers) {
      map.computeIfAbsent(e.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(e.getValue());
    }
    map.replaceAll((k, v) -> List.copyOf(v));
    return Collections.unmodifiableMap(map);
  }

  @Override
  public String queryParameter(String name) {
    List<String> values = query.parameters().get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  @Override
  public Map<String, List<String>> queryParameters() {
    return Collections.unmodifiableMap(query.parameters());
  }

  @Override
  public InetSocketAddress remoteAddress() {
    return remoteAddress;
  }
}
