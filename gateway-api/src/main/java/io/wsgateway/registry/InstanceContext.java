package io.wsgateway.registry;

import java.util.Collection;

/**
 * What a registry may ask of the instance that attached to it. Implemented by the gateway.
 *
 * <p>Thread-safe; {@link #liveConnections()} is cheap enough to call after an outage, not per message.
 */
public interface InstanceContext {

  /** The attaching instance's id. */
  String instanceId();

  /**
   * A snapshot of every connection the instance holds now, so a registry that lost state (an outage,
   * a failover) can register them again.
   */
  Collection<RegisteredConnection> liveConnections();
}
