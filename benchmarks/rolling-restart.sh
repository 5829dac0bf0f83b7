#!/usr/bin/env bash
# Manual, larger runs of the rolling-restart and kill -9 proofs: three example gateways (separate
# JVMs, Redis registry and recovery store, RabbitMQ broker) behind HAProxy, CLIENTS Java clients
# receiving numbered streams while every instance is drained and restarted in turn.
#   benchmarks/rolling-restart.sh               # 1,000 clients
#   CLIENTS=3000 ROUND_MS=1000 benchmarks/rolling-restart.sh
# The report (lost, duplicated, out of order, reconnect p50/p99, reconnects per second) is printed and
# appended to examples/target/rolling-restart-report.txt. Needs haproxy, Redis and RabbitMQ running.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-1000}
ROUND_MS=${ROUND_MS:-1000}
# It runs the kill -9 cases too (restarted at once, and never restarted).
mvn -B -q -pl examples -am verify -Dtest=RollingRestartTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dexcluded.test.groups= -Drolling.clients="$CLIENTS" -Drolling.roundMillis="$ROUND_MS"
cat examples/target/rolling-restart-report.txt
