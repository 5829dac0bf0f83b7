package io.wsgateway.netty.internal;

import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Where this instance delivers a session's messages: its live connection, or, after a disconnect
 * with recovery on, the session's history in the recovery store until the client resumes.
 */
interface SessionSink {

  String sessionId();

  String userId();

  /** The topics the session subscribes to (live view). */
  Set<String> liveSubscriptions();

  /**
   * Delivers one message of the session's stream; may be called from any thread.
   *
   * @param messageId the message id, unique per message (not per copy)
   * @param prefix the message frame up to {@code "seq":}
   * @return completes once the message is safe: kept in the recovery store when there is one,
   *     otherwise at once
   */
  CompletionStage<Void> deliver(String messageId, byte[] prefix);
}
