package io.wsgateway.auth;

import io.wsgateway.Principal;
import io.wsgateway.internal.TopicsClaimAuthorizer;

/**
 * Decides whether a principal may send to a user, subscribe to a topic, or publish to a topic.
 *
 * <p>Called on I/O threads for every such operation: implementations must be fast, thread-safe and
 * must not block. Decide from the principal's claims or from a locally cached policy.
 */
public interface Authorizer {

  /** Name of the claim {@link #topicsClaim()} reads: {@value}. */
  String DEFAULT_TOPICS_CLAIM = "topics";

  /** Whether {@code principal} may send a direct message to {@code toUser}. */
  boolean maySend(Principal principal, String toUser);

  /** Whether {@code principal} may subscribe to {@code topic}. */
  boolean maySubscribe(Principal principal, String topic);

  /** Whether {@code principal} may publish to {@code topic}. */
  boolean mayPublish(Principal principal, String topic);

  /**
   * The default: the principal's {@value #DEFAULT_TOPICS_CLAIM} claim (a list of patterns such as
   * {@code room:*}, where {@code *} matches any run of characters) governs subscribe and publish;
   * direct sends are allowed. A principal without the claim may use no topic.
   */
  static Authorizer topicsClaim() {
    return topicsClaim(DEFAULT_TOPICS_CLAIM);
  }

  /** As {@link #topicsClaim()}, reading the patterns from {@code claimName}. */
  static Authorizer topicsClaim(String claimName) {
    return new TopicsClaimAuthorizer(claimName);
  }

  /** Allows everything. For demos and tests; never a default. */
  static Authorizer allowAll() {
    return AllowAll.INSTANCE;
  }

  /** The allow-all authorizer, a named type so logs show it. */
  enum AllowAll implements Authorizer {
    INSTANCE;

    @Override
    public boolean maySend(Principal principal, String toUser) {
      return true;
    }

    @Override
    public boolean maySubscribe(Principal principal, String topic) {
      return true;
    }

    @Override
    public boolean mayPublish(Principal principal, String topic) {
      return true;
    }
  }
}
