package io.wsgateway.netty.internal;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Map;

/**
 * The checks in front of the admin listener's {@code /admin/*} routes, which can drain the instance:
 * no request from a browser (it carries {@code Origin}; a page on any site can make the browser of an
 * operator on this host send one), a {@code Host} that names this listener (a DNS-rebinding page names
 * its own domain), and the bearer token when one is configured. Immutable and thread-safe; pure logic
 * on the request's headers, so it never blocks.
 */
final class AdminGuard {

  static final String ORIGIN_NOT_ALLOWED = "origin_not_allowed";
  static final String HOST_NOT_ALLOWED = "host_not_allowed";
  static final String UNAUTHORIZED = "unauthorized";
  static final String WWW_AUTHENTICATE = "Bearer realm=\"wsgateway-admin\"";

  private static final String BEARER = "bearer ";

  /** Why a request is refused: HTTP status, JSON {@code error} code, message, extra headers. */
  record Rejection(int status, String code, String message, Map<String, String> headers) {}

  private final String adminHost;
  private final byte[] token;

  /**
   * @param adminHost the admin bind address as configured, also accepted as {@code Host}
   * @param token the required bearer token, or {@code null} for none
   */
  AdminGuard(String adminHost, String token) {
    this.adminHost = stripDot(adminHost.toLowerCase(Locale.ROOT));
    this.token = token == null ? null : token.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Checks a request, in this order: Origin, Host, token (so that a browser learns nothing about the
   * token).
   *
   * @param local the address the connection arrived on
   * @return why to refuse it, or {@code null} to serve it
   */
  Rejection check(HttpHeaders headers, InetSocketAddress local) {
    String origin = headers.get(HttpHeaderNames.ORIGIN);
    if (origin != null) {
      return new Rejection(403, ORIGIN_NOT_ALLOWED,
          "admin endpoints do not serve browsers (Origin: " + shorten(origin) + ")", Map.of());
    }
    String host = headers.get(HttpHeaderNames.HOST);
    if (host != null && !hostAllowed(hostPart(host), local)) {
      return new Rejection(403, HOST_NOT_ALLOWED, "Host " + shorten(hostPart(host))
          + " is not this admin listener (expected: localhost, a loopback or the listener's address)", Map.of());
    }
    if (token != null) {
      String authorization = headers.get(HttpHeaderNames.AUTHORIZATION);
      if (authorization == null || authorization.length() <= BEARER.length()
          || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
        return unauthorized("admin routes need Authorization: Bearer <admin token>");
      }
      byte[] presented = authorization.substring(BEARER.length()).strip().getBytes(StandardCharsets.US_ASCII);
      // Constant time: the comparison must not tell how many leading characters were right.
      if (!MessageDigest.isEqual(presented, token)) {
        return unauthorized("wrong admin token");
      }
    }
    return null;
  }

  private static Rejection unauthorized(String message) {
    return new Rejection(401, UNAUTHORIZED, message, Map.of("WWW-Authenticate", WWW_AUTHENTICATE));
  }

  /**
   * Whether {@code host} names this listener: {@code localhost}, the configured admin host, a loopback
   * address, or the address the connection arrived on. Literals only: nothing is resolved.
   */
  private boolean hostAllowed(String host, InetSocketAddress local) {
    if (host.equals("localhost") || host.equals(adminHost)) {
      return true;
    }
    byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
    if (literal == null) {
      return false;
    }
    try {
      InetAddress address = InetAddress.getByAddress(literal);
      return address.isLoopbackAddress() || (local != null && address.equals(local.getAddress()));
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** The host of a {@code Host} value, lower case, without port, brackets or a trailing dot. */
  static String hostPart(String hostHeader) {
    String h = hostHeader.strip().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      return end < 0 ? h : h.substring(1, end);
    }
    int colon = h.indexOf(':');
    if (colon >= 0 && colon == h.lastIndexOf(':')) {
      h = h.substring(0, colon);
    }
    return stripDot(h);
  }

  private static String stripDot(String host) {
    return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
  }

  /** Client-supplied text for a message, cut short. */
  private static String shorten(String value) {
    return value.length() > 100 ? value.substring(0, 100) + "..." : value;
  }
}
