package io.wsgateway.netty;

import io.wsgateway.Gateway;
import io.wsgateway.GatewayListener;
import io.wsgateway.HttpRoute;
import io.wsgateway.MessageHandler;
import io.wsgateway.auth.Authenticator;
import io.wsgateway.auth.Authorizer;
import io.wsgateway.broker.InProcessBroker;
import io.wsgateway.broker.MessageBroker;
import io.wsgateway.netty.internal.GatewayImpl;
import io.wsgateway.recovery.RecoveryStore;
import io.wsgateway.registry.ConnectionRegistry;
import io.wsgateway.registry.InMemoryConnectionRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Assembles a {@link Gateway} on Netty from its parts: options, authenticator, authorizer, registry,
 * broker and host hooks.
 *
 * <pre>{@code
 * Gateway gateway = NettyGateway.builder()
 *     .options(GatewayOptions.builder().port(8080).build())
 *     .authenticator(JwtAuthenticator.builder().hmacSecret(secret).build())
 *     .build();
 * gateway.start();
 * }</pre>
 */
public final class NettyGateway {

  private NettyGateway() {}

  /** A new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds a gateway. Only the authenticator is required. Not thread-safe. */
  public static final class Builder {
    private GatewayOptions options = GatewayOptions.defaults();
    private Authenticator authenticator;
    private Authorizer authorizer = Authorizer.topicsClaim();
    private ConnectionRegistry registry;
    private MessageBroker broker;
    private final List<GatewayListener> listeners = new ArrayList<>();
    private MessageHandler messageHandler;
    private RecoveryStore recovery;
    private final Map<String, HttpRoute> routes = new LinkedHashMap<>();

    private Builder() {}

    /** Transport and protocol options. Default {@link GatewayOptions#defaults()}. */
    public Builder options(GatewayOptions options) {
      this.options = Objects.requireNonNull(options, "options");
      return this;
    }

    /** Who clients are; required. Runs at every handshake, before the upgrade. */
    public Builder authenticator(Authenticator authenticator) {
      this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
      return this;
    }

    /**
     * What clients may do. Default {@link Authorizer#topicsClaim()}: the token's {@code topics} claim
     * governs topics; direct sends are allowed.
     */
    public Builder authorizer(Authorizer authorizer) {
      this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
      return this;
    }

    /**
     * Where users' connections are. Default: a new in-memory registry owned (and closed) by the
     * gateway. A registry passed here is not closed by the gateway.
     */
    public Builder registry(ConnectionRegistry registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    /**
     * How messages reach other instances. Default: a new in-process broker owned (and closed) by the
     * gateway. A broker passed here is not closed by the gateway; pass one shared {@link
     * InProcessBroker} to several gateways of one JVM to route between them.
     */
    public Builder broker(MessageBroker broker) {
      this.broker = Objects.requireNonNull(broker, "broker");
      return this;
    }

    /**
     * Enables session recovery: every message of a session is kept in {@code store} (bounded by its
     * window and per-session limit), so a client that reconnects with its session and last seq, to any
     * instance sharing the store, resumes without a gap. Default: none (resume requests are answered
     * {@code "resumed":false}). The gateway does not close the store.
     */
    public Builder recovery(RecoveryStore store) {
      this.recovery = Objects.requireNonNull(store, "store");
      return this;
    }

    /** Adds a lifecycle and traffic listener; listeners are called in the order added. */
    public Builder listener(GatewayListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /** Receives client frames of types the protocol does not reserve. Default: none (clients get {@code unknown_type}). */
    public Builder messageHandler(MessageHandler handler) {
      this.messageHandler = Objects.requireNonNull(handler, "messageHandler");
      return this;
    }

    /**
     * Serves {@code route} at {@code path} on the gateway's port. The WebSocket path, {@code /health}
     * and {@code /ready} are taken.
     */
    public Builder route(String path, HttpRoute route) {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(route, "route");
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("path: " + path + " (expected: starts with /)");
      }
      if (path.equals("/health") || path.equals("/ready")) {
        throw new IllegalArgumentException("path: " + path + " (expected: not /health or /ready, served by the gateway)");
      }
      routes.put(path, route);
      return this;
    }

    /**
     * Builds the gateway; call {@link Gateway#start()} to listen.
     *
     * @throws IllegalStateException if no authenticator was given, or a route uses the WebSocket path
     */
    public Gateway build() {
      if (authenticator == null) {
        throw new IllegalStateException("authenticator: not set (expected: an Authenticator, e.g. JwtAuthenticator)");
      }
      if (routes.containsKey(options.path())) {
        throw new IllegalStateException("route " + options.path() + " collides with the WebSocket path");
      }
      boolean ownsRegistry = registry == null;
      boolean ownsBroker = broker == null;
      return new GatewayImpl(options, authenticator, authorizer,
          ownsRegistry ? InMemoryConnectionRegistry.create() : registry, ownsRegistry,
          ownsBroker ? InProcessBroker.create() : broker, ownsBroker,
          List.copyOf(listeners), messageHandler, routes, recovery);
    }
  }
}
