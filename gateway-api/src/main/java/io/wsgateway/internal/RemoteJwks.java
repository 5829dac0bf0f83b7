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
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A JWK set fetched over HTTP(S) and cached. Thread-safe. Never blocks: fetches use {@link
 * HttpClient#sendAsync}, whose exchange (DNS included) runs on the client's executor, and concurrent
 * callers share one in-flight fetch. Fetch attempts, failed or not, are at least {@code minInterval}
 * apart so that tokens with made-up key ids cannot turn the gateway into a load generator against the
 * identity provider.
 */
public final class RemoteJwks {

  /** Bound on one fetch, so a stalled identity provider cannot hold handshakes forever. */
  static final Duration FETCH_TIMEOUT = Duration.ofSeconds(10);
  /** Bound on the response body; real JWK sets are a few kilobytes. */
  static final int MAX_BODY_BYTES = 512 * 1024;

  private static final Logger logger = LoggerFactory.getLogger(RemoteJwks.class);

  /**
   * What the last fetch left behind.
   *
   * @param loaded whether any fetch has succeeded
   * @param failure why the most recent attempt failed, or {@code null} if it succeeded
   */
  public record Snapshot(List<VerificationKey> keys, boolean loaded, String failure) {
    static final Snapshot EMPTY = new Snapshot(List.of(), false, null);
  }

  private final URI uri;
  private final HttpClient client;
  private final Clock clock;
  private final Duration minInterval;

  private final Object lock = new Object();
  // Guarded by lock; the snapshot is also volatile so the hot path reads it without locking.
  private volatile Snapshot snapshot = Snapshot.EMPTY;
  private Instant lastAttempt;
  private CompletableFuture<Snapshot> inFlight;

  public RemoteJwks(URI uri, HttpClient client, Clock clock, Duration minInterval) {
    this.uri = Objects.requireNonNull(uri, "uri");
    this.client = Objects.requireNonNull(client, "client");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.minInterval = Objects.requireNonNull(minInterval, "minInterval");
  }

  /** The keys as last fetched; never blocks. */
  public Snapshot snapshot() {
    return snapshot;
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
      if (lastAttempt != null && now.isBefore(lastAttempt.plus(minInterval))) {
        return CompletableFuture.completedFuture(snapshot);
      }
      lastAttempt = now;
      fetch = new CompletableFuture<>();
      inFlight = fetch;
    }
    // Started outside the lock: sendAsync returns at once, but we hold no lock across foreign code.
    startFetch().whenComplete((keys, error) -> {
      Snapshot next;
      synchronized (lock) {
        Snapshot previous = snapshot;
        if (error == null) {
          next = new Snapshot(keys, true, null);
          logger.debug("Fetched {} verification keys from {}", keys.size(), uri);
        } else {
          Throwable cause = error.getCause() != null ? error.getCause() : error;
          String reason = cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
          next = new Snapshot(previous.keys(), previous.loaded(), reason);
          logger.warn("Cannot fetch JWK set from {}: {}", uri, reason);
        }
        snapshot = next;
        inFlight = null;
      }
      fetch.complete(next);
    });
    return fetch;
  }

  private CompletableFuture<List<VerificationKey>> startFetch() {
    HttpRequest request = HttpRequest.newBuilder(uri)
        .timeout(FETCH_TIMEOUT)
        .header("Accept", "application/json, " + JWKSet.MIME_TYPE)
        .GET()
        .build();
    CompletableFuture<HttpResponse<byte[]>> response;
    try {
      response = client.sendAsync(request, info -> new BoundedBody(MAX_BODY_BYTES));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return response.thenApply(this::parse);
  }

  private List<VerificationKey> parse(HttpResponse<byte[]> response) {
    if (response.statusCode() != 200) {
      throw new IllegalStateException("HTTP " + response.statusCode());
    }
    try {
      JWKSet set = JWKSet.parse(new String(response.body(), StandardCharsets.UTF_8));
      return VerificationKey.fromJwkSet(set, false, "jwks " + uri);
    } catch (ParseException | JOSEException e) {
      throw new IllegalStateException("not a JWK set: " + e.getMessage(), e);
    }
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
    private Flow.Subscription subscription;
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
      subscription.request(Long.MAX_VALUE);
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
