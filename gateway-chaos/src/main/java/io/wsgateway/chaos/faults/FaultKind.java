package io.wsgateway.chaos.faults;

/** The faults the nemesis injects. Each run of the CI schedule hits every one at least once. */
public enum FaultKind {
  /** Drain an instance ({@code POST /admin/drain}, or SIGTERM), let it exit, start it again with the same id. */
  DRAIN_RESTART(true),
  /** kill -9 an instance, start it again with the same id after a short downtime. */
  KILL_RESTART(true),
  /** kill -9 an instance for good; usually a replacement with a new id takes its port later. */
  KILL_FOR_GOOD(true),
  /** kill -9 the private redis-server and start it again, empty. */
  REDIS_RESTART_EMPTY(false),
  /** SIGSTOP the redis-server for longer than the gateways' command timeout (1 s), then SIGCONT. */
  REDIS_PAUSE(false),
  /** Force-close the gateways' RabbitMQ connections with {@code rabbitmqctl close_connection}. */
  RABBIT_CLOSE(false),
  /** Cut some clients' network at their proxies: stall, reset (and refuse), or stall then reset. */
  CLIENT_CUT(false),
  /** Make some clients close and reconnect, resuming: a clean close (reconnect hint) or an abrupt one. */
  CLIENT_CHURN(false);

  private final boolean gateway;

  FaultKind(boolean gateway) {
    this.gateway = gateway;
  }

  /** Whether the fault takes a gateway instance out of service. */
  public boolean gateway() {
    return gateway;
  }
}
