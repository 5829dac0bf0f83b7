package io.wsgateway.testkit.broker;

import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.EnvelopeHandler;
import java.util.ArrayList;
import java.util.List;

/**
 * An {@link EnvelopeHandler} that records what it receives, for tests of brokers.
 *
 * <p>Thread-safe: brokers call it on their own threads; tests read snapshots.
 */
public final class RecordingHandler implements EnvelopeHandler {

  private final List<Envelope> envelopes = new ArrayList<>();
  private final List<Envelope> ingress = new ArrayList<>();

  @Override
  public synchronized void onEnvelope(Envelope envelope) {
    envelopes.add(envelope);
  }

  @Override
  public synchronized java.util.concurrent.CompletionStage<Void> onIngress(Envelope envelope) {
    ingress.add(envelope);
    return java.util.concurrent.CompletableFuture.completedFuture(null);
  }

  /** A snapshot of the envelopes received through {@link #onEnvelope}, in arrival order. */
  public synchronized List<Envelope> envelopes() {
    return new ArrayList<>(envelopes);
  }

  /** A snapshot of the envelopes received through {@link #onIngress}, in arrival order. */
  public synchronized List<Envelope> ingress() {
    return new ArrayList<>(ingress);
  }

  /** How many envelopes arrived through {@link #onEnvelope}. */
  public synchronized int count() {
    return envelopes.size();
  }

  /** The ids of the envelopes received through {@link #onEnvelope}, in arrival order. */
  public synchronized List<String> ids() {
    List<String> ids = new ArrayList<>(envelopes.size());
    for (Envelope e : envelopes) {
      ids.add(e.id());
    }
    return ids;
  }

  /** Whether an envelope with {@code id} arrived through {@link #onEnvelope}. */
  public synchronized boolean received(String id) {
    for (Envelope e : envelopes) {
      if (e.id().equals(id)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public synchronized String toString() {
    return "RecordingHandler{envelopes=" + envelopes.size() + " ids=" + abbreviated(ids()) + ", ingress=" + ingress.size() + "}";
  }

  private static String abbreviated(List<String> ids) {
    return ids.size() <= 20 ? ids.toString() : ids.subList(0, 10) + "..." + ids.subList(ids.size() - 10, ids.size());
  }
}
