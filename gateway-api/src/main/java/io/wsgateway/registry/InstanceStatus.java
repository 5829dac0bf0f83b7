package io.wsgateway.registry;

/** The lifecycle state of a gateway instance as the registry records it. */
public enum InstanceStatus {
  /** Accepting connections and routing. */
  RUNNING,
  /** Sending its clients elsewhere; still delivers to those still connected. */
  DRAINING,
  /** Gone: its entries must no longer be returned. */
  GONE
}
