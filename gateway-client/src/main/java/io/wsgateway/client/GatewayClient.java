package io.wsgateway.client;

import io.netty.channel.EventLoopGroup;
import io.wsgateway.client.internal.ClientImpl;
import java.net.URI;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A client of the gateway's default protocol over one WebSocket that it keeps open: it reconnects
 * with exponential backoff and full jitter, follows the server's reconnect hints, refreshes its
 * token before it expires, and resumes its session so the application sees every message exactly
 * once and in order.
 *
 * <p>Thread-safe: every method may be called from any thread. No method blocks except {@link
 * #close()}, which waits briefly for the close frame and for a client-owned event loop group to
 * stop. All I/O, timers and {@link ClientListener} calls run on one event loop thread of the client;
 * there is no thread per client. Returned stages complete on that thread too, so dependent actions
 * must not block it (use the {@code ...Async} variants to move work elsewhere). Whoever builds a
 * client closes it.
 *
 * <h2>Delivery</h2>
 * A direct message is delivered only if its {@code seq} is the last delivered one plus one; a topic
 * message (from a gateway with topic history) only if its {@code offset} is its topic's last
 * delivered one plus one. Duplicates are dropped. A gap (messages missing) is not delivered across:
 * the client reconnects, asks the server to resume the session after the last delivered {@code
 * seq}, and subscribes every topic again with {@code since} its last offset (it does so after every
 * reconnect), so the server sends what is missing. What cannot be recovered is reported to {@link
 * ClientListener#onError}, and delivery goes on after it: {@link ClientException#RESUME_FAILED} when
 * the server started a new session (numbering starts at 1 again), {@link ClientException#GAP} when
 * the server lost direct messages of the session, {@link ClientException#TOPIC_GAP} when it lost
 * publications of a topic. The application should then resync from its backend. Topic messages of
 * a gateway without topic history carry no number and are delivered as they come.
 *
 * <h2>Operations</h2>
 * {@link #send}, {@link #subscribe}, {@link #unsubscribe} and {@link #publish} complete when the
 * server acks them and fail with a {@link ClientException} carrying the server's error code, or
 * {@link ClientException#ACK_TIMEOUT}. While disconnected they are queued (at most {@link
 * ClientOptions#maxPendingSends()} operations, queued or awaiting their ack, beyond which calls fail
 * with {@link ClientException#CLIENT_OVERLOADED}) and written after the next welcome, in call order.
 * An operation whose connection drops before its ack fails with {@link
 * ClientException#CONNECTION_LOST}: the server may or may not have handled it, and the client does
 * not resend it, so nothing is ever applied twice by the client's doing.
 */
public interface GatewayClient extends AutoCloseable {

  /** A new builder. */
  static Builder builder() {
    return new Builder();
  }

  /**
   * Starts connecting; the stage completes at the first welcome. Attempts that fail are retried with
   * backoff, except that a handshake the server rejects with a 4xx status (other than 429) on the
   * very first connection fails the stage with the server's error code (e.g. {@code token_expired})
   * and returns the client to {@link ClientState#IDLE}. Calling it again while connecting or
   * connected returns the same stage.
   */
  CompletionStage<Void> connect();

  /** Sends {@code jsonData} (any JSON value) to every connection of {@code toUser}; completes on the ack. */
  CompletionStage<Void> send(String toUser, String jsonData);

  /**
   * Subscribes to {@code topic}; completes on the ack. The client subscribes again after every
   * reconnect, catching up from the last offset it delivered when the gateway has topic history.
   */
  CompletionStage<Void> subscribe(String topic);

  /** Unsubscribes from {@code topic}; completes on the ack. */
  CompletionStage<Void> unsubscribe(String topic);

  /** Publishes {@code jsonData} (any JSON value) to {@code topic}; completes on the ack. */
  CompletionStage<Void> publish(String topic, String jsonData);

  /**
   * Sends a raw frame, e.g. of a custom type for the host's message handler. If it has an {@code
   * id} the stage completes on the ack (or fails on a correlated error) as for other operations;
   * do not use ids of the form {@code c<digits>}, which the client generates. Without an {@code id}
   * it completes once the frame is written. Queued like the other operations while disconnected.
   * Fails with {@link ClientException#INVALID_FRAME} unless it is a JSON object with a string
   * {@code type}.
   */
  CompletionStage<Void> sendFrame(String rawJsonFrame);

  /** The current state. */
  ClientState state();

  /** The session id from the last welcome, or {@code null} before the first. */
  String sessionId();

  /**
   * The {@code seq} of the last direct message delivered to the listener in this session, or skipped
   * after a {@link ClientException#GAP} (0 if none): what a resume continues after.
   */
  long lastSeq();

  /**
   * Closes the connection with 1000, fails every pending operation with {@link
   * ClientException#CLIENT_CLOSED}, cancels reconnects and, if the client created its event loop
   * group, shuts it down. Blocks for at most about two seconds (it does not wait when called on the
   * client's own event loop, e.g. from a listener). Idempotent.
   */
  @Override
  void close();

  /** Builds a {@link GatewayClient}. Not thread-safe. Requires a URI (or URI supplier) and a token (or supplier). */
  final class Builder {
    private Supplier<URI> uri;
    private Supplier<CompletionStage<String>> tokenSupplier;
    private boolean refreshable;
    private ClientListener listener = new ClientListener() {};
    private ClientOptions options = ClientOptions.defaults();
    private EventLoopGroup group;

    private Builder() {}

    /** The gateway's WebSocket URI, {@code ws://} or {@code wss://} (TLS with the JDK's trust store), e.g. {@code ws://host:8080/ws}. */
    public Builder uri(URI uri) {
      Objects.requireNonNull(uri, "uri");
      checkScheme(uri);
      this.uri = () -> uri;
      return this;
    }

    /**
     * Where to connect, asked at every (re)connect: lets a caller move the client between gateways,
     * e.g. to a DNS name's next address. It must not block; a URI with another scheme than {@code
     * ws}/{@code wss} fails that attempt.
     */
    public Builder uriSupplier(Supplier<URI> uriSupplier) {
      this.uri = Objects.requireNonNull(uriSupplier, "uriSupplier");
      return this;
    }

    /**
     * A fixed token, sent as the {@code access_token} query parameter. The client cannot refresh it:
     * when it expires the server closes with 4001 and reconnects with it fail. Prefer {@link
     * #tokenSupplier} for expiring tokens.
     */
    public Builder token(String token) {
      Objects.requireNonNull(token, "token");
      this.tokenSupplier = () -> CompletableFuture.completedFuture(token);
      this.refreshable = false;
      return this;
    }

    /**
     * Supplies a token for every (re)connect and for every refresh before the current one expires.
     * Called on the client's event loop: it must not block; return a stage completed later instead.
     */
    public Builder tokenSupplier(Supplier<CompletionStage<String>> tokenSupplier) {
      this.tokenSupplier = Objects.requireNonNull(tokenSupplier, "tokenSupplier");
      this.refreshable = true;
      return this;
    }

    /** Receives messages, state changes and errors. Default: a listener that ignores everything. */
    public Builder listener(ClientListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** Tuning. Default {@link ClientOptions#defaults()}. */
    public Builder options(ClientOptions options) {
      this.options = Objects.requireNonNull(options, "options");
      return this;
    }

    /**
     * A group to share between many clients (e.g. a load tool holding thousands); the client uses
     * one of its event loops and never shuts it down. NIO or epoll groups are supported. Default: the
     * client creates, and closes, a one-thread group of its own.
     */
    public Builder eventLoopGroup(EventLoopGroup group) {
      this.group = Objects.requireNonNull(group, "eventLoopGroup");
      return this;
    }

    /** @throws IllegalStateException if no URI or no token was given */
    public GatewayClient build() {
      if (uri == null) {
        throw new IllegalStateException("uri: not set (expected: uri(URI) or uriSupplier(Supplier))");
      }
      if (tokenSupplier == null) {
        throw new IllegalStateException("token: not set (expected: token(String) or tokenSupplier(Supplier))");
      }
      return new ClientImpl(uri, tokenSupplier, refreshable, listener, options, group);
    }

    static void checkScheme(URI uri) {
      String scheme = uri.getScheme();
      if (!"ws".equalsIgnoreCase(scheme) && !"wss".equalsIgnoreCase(scheme)) {
        throw new IllegalArgumentException("uri: " + uri + " (expected: scheme ws or wss)");
      }
    }
  }
}
