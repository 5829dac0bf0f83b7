package io.wsgateway.chaos.history;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * One entry of a run's history: what the harness did or observed, stamped with {@link #at()}, the
 * nanoseconds since the run started (one monotonic clock for every process-local observer). Immutable.
 * Written to {@code history.jsonl} one per line, with its record name in the {@code ev} field.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "ev")
@JsonSubTypes({
    @JsonSubTypes.Type(value = Event.Invoke.class, name = "invoke"),
    @JsonSubTypes.Type(value = Event.Complete.class, name = "complete"),
    @JsonSubTypes.Type(value = Event.Deliver.class, name = "deliver"),
    @JsonSubTypes.Type(value = Event.Subscribed.class, name = "subscribed"),
    @JsonSubTypes.Type(value = Event.Connected.class, name = "connected"),
    @JsonSubTypes.Type(value = Event.Disconnected.class, name = "disconnected"),
    @JsonSubTypes.Type(value = Event.LossSignal.class, name = "loss"),
    @JsonSubTypes.Type(value = Event.ClientError.class, name = "client-error"),
    @JsonSubTypes.Type(value = Event.FaultStarted.class, name = "fault-start"),
    @JsonSubTypes.Type(value = Event.FaultEnded.class, name = "fault-end"),
    @JsonSubTypes.Type(value = Event.Phase.class, name = "phase"),
})
public sealed interface Event {

  /** Nanoseconds since the start of the run. */
  long at();

  /**
   * An operation was invoked: a client called {@code send}/{@code publish}, or the backend called
   * {@code basicPublish}. Recorded before the call, so it precedes any delivery of the message.
   *
   * @param id the message's unique id (also in its payload)
   * @param source the sending user, publishing user, or backend name
   * @param target the recipient user (direct, ingress) or the topic
   * @param n the message's number in its stream ({@code kind}, {@code source}, {@code target}), from 1
   * @param via the gateway instance the sender was connected to when it invoked, or {@code null}
   *     (backend publishes, or a sender between connections)
   */
  record Invoke(long at, String id, StreamKind kind, String source, String target, long n, String via)
      implements Event {}

  /** The operation of message {@code id} ended; {@code code} is the error code, {@code null} when acked. */
  record Complete(long at, String id, Outcome outcome, String code) implements Event {}

  /**
   * A message reached the application: {@code ClientListener.onMessage} of {@code user}'s client.
   *
   * @param session the client's session at delivery
   * @param seq the message's {@code seq} in that session
   * @param instance the gateway instance of the client's connection at delivery, or {@code null} if unknown
   * @param raw the payload when it could not be read as a harness message ({@code id} is then {@code null})
   */
  record Deliver(long at, String user, String session, long seq, String id, StreamKind kind, String source,
      String target, long n, String instance, String raw) implements Event {}

  /** The harness's {@code subscribe(topic)} for {@code user} was acked: topic messages published from now on are due. */
  record Subscribed(long at, String user, String topic) implements Event {}

  /**
   * {@code user}'s client got a welcome: connected with {@code session}; {@code resumed} when it is the
   * session it had before. {@code instance} is the gateway named in the welcome.
   */
  record Connected(long at, String user, String session, boolean resumed, String instance) implements Event {}

  /** {@code user}'s client left the connected state ({@code reason}: the last error seen, if any). */
  record Disconnected(long at, String user, String reason) implements Event {}

  /**
   * An explicit signal that messages of {@code lostSession} may be gone: the client reported {@code
   * resume_failed} (then {@code sessionReset}: it has a new session, its subscriptions are gone until
   * re-subscribed) or a gap in a session it keeps. See docs/chaos.md, "When a loss is allowed".
   */
  record LossSignal(long at, String user, String code, String reason, String lostSession, boolean sessionReset)
      implements Event {}

  /** Any other error the client reported to its listener (connect_failed, connection_lost, ...). */
  record ClientError(long at, String user, String code, String message) implements Event {}

  /** Fault number {@code fault} of the schedule began ({@code target}: instance, clients, ...). */
  record FaultStarted(long at, int fault, String kind, String target, String detail) implements Event {}

  /** Fault number {@code fault} ended; {@code ok} false when it could not be carried out as planned. */
  record FaultEnded(long at, int fault, String kind, String target, String detail, boolean ok) implements Event {}

  /** A phase of the run began (setup, traffic, heal, quiet, check), for reading the timeline. */
  record Phase(long at, String name, String detail) implements Event {}
}
