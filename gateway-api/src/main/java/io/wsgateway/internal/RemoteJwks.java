package io.wsgateway.internal;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.JWKSet;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A JWK set fetched over HTTP(S) and cached. Thread-safe. Never blocks: fetches use {@link
 * HttpClient#sendAsync}, whose exchange (DNS included) runs on the client's executor, and concurrent
 * callers share one in-flight fetch. Fetch attempts, failed or not, are at least {@code minInterval}
 * apart so that tokens with made-up key ids cannot turn the gateway into a load generator against the
 * identity provider.
 *
 * <p>The set is also refreshed periodically, so that a key the identity provider withdrew (rotated out
 * or revoked) stops verifying: {@link #current()} starts a background refresh once the snapshot's
 * {@link Snapshot#refreshAt} has passed and meanwhile serves the keys it has. The refresh time comes
 * from the response's {@code Cache-Control: max-age}, kept within bounds, or from the configured
 * interval without one. A failed fetch keeps the last good keys and is retried every {@code
 * minInterval}. Each fetch, body included, has a deadline; a server that stalls fails the fetch then.
 */
public final class RemoteJwks {

  /** Bound on the response body; real JWK sets are a few kilobytes. */
  static final int MAX_BODY_BYTES = 512 * 1024;

  private static final Logger logger = LoggerFactory.getLogger(RemoteJwks.class);

  /**
   * The timing of fetches.
   *
   * @param minInterval least time between two fetch attempts, failed or not
   * @param refreshInterval time until the next periodic refresh when the response has no max-age
   * @param minMaxAge lower bound of a response's max-age (also used for no-cache and no-store)
   * @param maxMaxAge upper bound of a response's max-age
   * @param fetchTimeout deadline of one whole fetch: connection, headers and body
   */
  public record Settings(Duration minInterval, Duration refreshInterval, Duration minMaxAge, Duration maxMaxAge,
      Duration fetchTimeout) {
    public Settings {
      Objects.requireNonNull(minInterval, "minInterval");
      Objects.requireNonNull(refreshInterval, "refreshInterval");
      Objects.requireNonNull(minMaxAge, "minMaxAge");
      Objects.requireNonNull(maxMaxAge, "maxMaxAge");
      Objects.requireNonNull(fetchTimeout, "fetchTimeout");
    }
  }

  /**
   * What the last fetch left behind.
   *
   * @param loaded whether any fetch has succeeded
   * @param failure why the most recent attempt failed, or {@code null} if it succeeded
   * @param refreshAt when the keys are due to be fetched again; {@link Instant#MIN} before the first success
   */
  public record Snapshot(List<VerificationKey> keys, boolean loaded, String failure, Instant refreshAt) {
    static final Snapshot EMPTY = new Snapshot(List.of(), false, null, Instant.MIN);
  }

  private final URI uri;
  private final HttpClient client;
  private final Clock clock;
  private final Settings settings;

  private final Object lock = new Object();
  // Guarded by lock; the snapshot is also volatile so the hot path reads it without locking.
  private volatile Snapshot snapshot = Snapshot.EMPTY;
  private Instant lastAttempt;
  /** lastAttempt + minInterval, volatile: lets {@link #current()} skip the lock while throttled. */
  private volatile Instant nextAttempt = Instant.MIN;
  private CompletableFuture<Snapshot> inFlight;

  public RemoteJwks(URI uri, HttpClient client, Clock clock, Settings settings) {
    this.uri = Objects.requireNonNull(uri, "uri");
    this.client = Objects.requireNonNull(client, "client");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /** The keys as last fetched; never blocks, never fetches. */
  public Snapshot snapshot() {
    return snapshot;
  }

  /**
   * The keys as last fetched, starting a background refresh first if one is due; never blocks. Tokens
   * keep being checked against these keys until the refresh completes.
   */
  public Snapshot current() {
    Snapshot current = snapshot;
    Instant now = clock.instant();
    // nextAttempt first: while a refresh runs or attempts are throttled, the hot path takes no lock.
    if (!now.isBefore(nextAttempt) && !now.isBefore(current.refreshAt())) {
      refresh();
    }
    return current;
  }

  /** Whether the periodic refresh time has come (always true before the first successful fetch). */
  public boolean refreshDue() {
    return !clock.instant().isBefore(snapshot.refreshAt());
  }

  /**
   * Fetches the set again unless a fetch is in flight (then shares it) or the last attempt was less
   * than the minimum interval ago (then returns the current snapshot at once). The returned stage
   * never fails: a failed fetch keeps the old keys and records the reason in {@link Snapshot#failure}.
   */
  public CompletionStage<Snapshot> refresh() {
    CompletableFuture<Snapshot> fetch;
    synchronized (lock) {
      if (inFlight != null) {
        return inFlight;
      }
      Instant now = clock.instant();
      if (lastAttempt != null && now.isBefore(lastAttempt.plus(settings.minInterval()))) {
        return CompletableFuture.completedFuture(snapshot);
      }
      lastAttempt = now;
      nextAttempt = now.plus(settings.minInterval());
      fetch = new CompletableFuture<>();
      inFlight = fetch;
    }
    // Started outside the lock: sendAsync returns at once, but we hold no lock across foreign code.
    startFetch().whenComplete((fetched, error) -> {
      Snapshot next;
      synchronized (lock) {
        Snapshot previous = snapshot;
        if (error == null) {
          Instant refreshAt = clock.instant().plus(fetched.maxAge());
          next = new Snapshot(fetched.keys(), true, null, refreshAt);
          logger.debug("Fetched {} verification keys from {}; next refresh at {}", fetched.keys().size(), uri,
              refreshAt);
        } else {
          Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
          String reason = cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
          next = new Snapshot(previous.keys(), previous.loaded(), reason, previous.refreshAt());
          logger.warn("Cannot fetch JWK set from {}: {}", uri, reason);
        }
        snapshot = next;
        inFlight = null;
      }
      fetch.complete(next);
    });
    return fetch;
  }

  /** The keys of one successful fetch, and how long they may be cached. */
  private record Fetched(List<VerificationKey> keys, Duration maxAge) {}

  private CompletableFuture<Fetched> startFetch() {
    HttpRequest request = HttpRequest.newBuilder(uri)
        .header("Accept", "application/json, " + JWKSet.MIME_TYPE)
        .GET()
        .build();
    AtomicReference<BoundedBody> body = new AtomicReference<>();
    CompletableFuture<HttpResponse<byte[]>> response;
    try {
      response = client.sendAsync(request, info -> {
        BoundedBody subscriber = new BoundedBody(MAX_BODY_BYTES);
        body.set(subscriber);
        return subscriber;
      });
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Fetched> result = response.thenApply(this::parse);
    // The request timeout of HttpClient ends when the headers arrive; this deadline also covers a body
    // that trickles or stalls, which would otherwise hold the shared fetch (and every handshake
    // waiting on it) for ever.
    Duration timeout = settings.fetchTimeout();
    CompletableFuture.delayedExecutor(timeout.toNanos(), TimeUnit.NANOSECONDS).execute(() -> {
      if (result.completeExceptionally(new TimeoutException("no complete response within " + timeout))) {
        response.cancel(true);
        BoundedBody subscriber = body.get();
        if (subscriber != null) {
          subscriber.cancel();
        }
      }
    });
    return result;
  }

  private Fetched parse(HttpResponse<byte[]> response) {
    if (response.statusCode() != 200) {
      throw new IllegalStateException("HTTP " + response.statusCode());
    }
    List<VerificationKey> keys;
    try {
      JWKSet set = JWKSet.parse(new String(response.body(), StandardCharsets.UTF_8));
      keys = VerificationKey.fromJwkSet(set, false, "jwks " + uri);
    } catch (ParseException | JOSEException e) {
      throw new IllegalStateException("not a JWK set: " + e.getMessage(), e);
    }
    return new Fetched(keys, cacheTime(response.headers().allValues("Cache-Control")));
  }

  /**
   * How long to keep the keys: the response's max-age within the bounds; the lower bound for {@code
   * no-cache} or {@code no-store} (a fetch per token would be worse than a short cache); the configured
   * interval when there is neither or the value is malformed.
   */
  Duration cacheTime(List<String> cacheControl) {
    Duration maxAge = null;
    for (String header : cacheControl) {
      for (String directive : header.split(",")) {
        String d = directive.strip().toLowerCase(Locale.ROOT);
        if (d.equals("no-cache") || d.equals("no-store")) {
          return settings.minMaxAge();
        }
        if (d.startsWith("max-age=")) {
          String value = d.substring("max-age=".length()).replace("\"", "");
          if (!value.isEmpty() && value.length() <= 12 && value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            maxAge = Duration.ofSeconds(Long.parseLong(value));
          }
        }
      }
    }
    if (maxAge == null) {
      return settings.refreshInterval();
    }
    if (maxAge.compareTo(settings.minMaxAge()) < 0) {
      return settings.minMaxAge();
    }
    return maxAge.compareTo(settings.maxMaxAge()) > 0 ? settings.maxMaxAge() : maxAge;
  }

  @Override
  public String toString() {
    return uri.toString();
  }

  /** Collects a body up to a limit and fails beyond it, whether or not Content-Length was sent. */
  private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final int limit;
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final List<ByteBuffer> buffers = new ArrayList<>();
    private volatile Flow.Subscription subscription;
    private volatile boolean cancelled;
    private int size;

    BoundedBody(int limit) {
      this.limit = limit;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      if (cancelled) {
        subscription.cancel();
        return;
      }
      subscription.request(Long.MAX_VALUE);
    }

    /** Stops reading (the deadline passed); the client then closes the connection. */
    void cancel() {
      cancelled = true;
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
      result.completeExceptionally(new CancellationException("fetch deadline passed"));
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer item : items) {
        size += item.remaining();
        buffers.add(item);
      }
      if (size > limit) {
        subscription.cancel();
        buffers.clear();
        result.completeExceptionally(new IllegalStateException("body larger than " + limit + " bytes"));
      }
    }

    @Override
    public void onError(Throwable throwable) {
      result.completeExceptionally(throwable);
    }

    @Override
    public void onComplete() {
      if (result.isDone()) {
        return;
      }
      byte[] bytes = new byte[size];
      int offset = 0;
      for (ByteBuffer buffer : buffers) {
        int n = buffer.remaining();
        buffer.get(bytes, offset, n);
        offset += n;
      }
      result.complete(bytes);
    }
  }
}
