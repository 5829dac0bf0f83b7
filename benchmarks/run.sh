#!/usr/bin/env bash
# Runs one load-tool scenario against a gateway this script starts, prints the figures, and stops the
# gateway. Usage:
#   benchmarks/run.sh idle|storm|route|fanout [LoadTool options, replacing the scenario's defaults]
# Environment:
#   GATEWAY=bench|example   which gateway to start (default: io.wsgateway.benchmarks.load.BenchGateway
#                           from benchmarks.jar; example = examples/target/gateway-example.jar)
#   GATEWAY_PORT (18080), GATEWAY_JWT_SECRET, GATEWAY_IO_THREADS (1 for route/fanout), GATEWAY_RABBIT_URI
#   GATEWAY_JVM_OPTS, TOOL_JVM_OPTS   extra JVM flags (e.g. a JFR recording for the gateway)
#   PIN=0                   do not pin (default: gateway on CPU 0, tool on CPU 1 for route, fanout, storm)
#   CROSS=1                 route across two instances: starts a second gateway on GATEWAY_PORT+1, both with
#                           the Redis registry and the RabbitMQ broker (GATEWAY_REDIS_URI, GATEWAY_RABBIT_URI,
#                           defaults on 127.0.0.1; prefixes wsgwbench), and passes --url2/--pid2; unpinned
#   BUILD=1                 rebuild benchmarks.jar even if it exists
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SCENARIO=${1:?usage: benchmarks/run.sh idle|storm|route|fanout [options]}
shift
JAR=benchmarks/target/benchmarks.jar
EXAMPLE_JAR=examples/target/gateway-example.jar

export GATEWAY_PORT=${GATEWAY_PORT:-18080}
export GATEWAY_JWT_SECRET=${GATEWAY_JWT_SECRET:-load-tool-secret-load-tool-secret-0123456789}
export GATEWAY_INSTANCE_ID=${GATEWAY_INSTANCE_ID:-bench-1}
URL="ws://127.0.0.1:${GATEWAY_PORT}/ws"

case "$SCENARIO" in
  idle)   DEFAULTS=(--connections 5000 --hold 5); PINNED=0 ;;
  storm)  DEFAULTS=(--connections 5000); PINNED=1 ;;
  route)  DEFAULTS=(--users 100 --flat --window 64 --duration 20 --warmup 5); PINNED=1
          export GATEWAY_IO_THREADS=${GATEWAY_IO_THREADS:-1} ;;
  fanout) DEFAULTS=(--subscribers 5000 --publishes 200); PINNED=1
          export GATEWAY_IO_THREADS=${GATEWAY_IO_THREADS:-1} ;;
  *) echo "unknown scenario: $SCENARIO (expected idle, storm, route, fanout)" >&2; exit 2 ;;
esac
if [ $# -gt 0 ]; then ARGS=("$@"); else ARGS=("${DEFAULTS[@]}"); fi
[ "${PIN:-1}" = 0 ] && PINNED=0
if [ "${CROSS:-0}" = 1 ]; then
  PINNED=0
  export GATEWAY_REDIS_URI=${GATEWAY_REDIS_URI:-redis://127.0.0.1:6379} GATEWAY_REDIS_PREFIX=${GATEWAY_REDIS_PREFIX:-wsgwbench:}
  export GATEWAY_RABBIT_URI=${GATEWAY_RABBIT_URI:-amqp://guest:guest@127.0.0.1:5672} GATEWAY_RABBIT_PREFIX=${GATEWAY_RABBIT_PREFIX:-wsgwbench}
fi

if [ ! -f "$JAR" ] || [ "${BUILD:-0}" = 1 ]; then
  mvn -q -pl benchmarks -am package -DskipTests
fi

# BenchGateway by default: it raises the per-connection rate limit and runs without a recovery store.
GATEWAY=${GATEWAY:-bench}
# The heap is pre-touched so the RSS the idle scenario reads grows only with memory held per
# connection, not with fresh heap pages that garbage happened to touch; the heap itself is measured
# separately (used after a full GC).
GW_JVM=(-Xms512m -Xmx512m -XX:+AlwaysPreTouch -Dio.netty.leakDetection.level=disabled ${GATEWAY_JVM_OPTS:-})
if [ "$GATEWAY" = example ]; then
  GW_CMD=(java "${GW_JVM[@]}" -jar "$EXAMPLE_JAR")
else
  GW_CMD=(java "${GW_JVM[@]}" -cp "$JAR" io.wsgateway.benchmarks.load.BenchGateway)
fi
TOOL_CMD=(java -Xms512m -Xmx512m ${TOOL_JVM_OPTS:-} -cp "$JAR" io.wsgateway.benchmarks.load.LoadTool
  "$SCENARIO" --url "$URL" --secret "$GATEWAY_JWT_SECRET")
if [ "$PINNED" = 1 ]; then
  GW_CMD=(taskset -c 0 "${GW_CMD[@]}")
  TOOL_CMD=(taskset -c 1 "${TOOL_CMD[@]}")
fi

GW_LOG=$(mktemp -t bench-gateway.XXXXXX.log)
"${GW_CMD[@]}" >"$GW_LOG" 2>&1 &
GW_PID=$!
GW2_PID=""
if [ "${CROSS:-0}" = 1 ]; then
  GW2_LOG=$(mktemp -t bench-gateway2.XXXXXX.log)
  GATEWAY_PORT=$((GATEWAY_PORT + 1)) GATEWAY_INSTANCE_ID=bench-2 "${GW_CMD[@]}" >"$GW2_LOG" 2>&1 &
  GW2_PID=$!
  ARGS+=(--url2 "ws://127.0.0.1:$((GATEWAY_PORT + 1))/ws" --pid2 "$GW2_PID")
fi
cleanup() {
  for pid in "$GW_PID" $GW2_PID; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT

# Wait for GET /health: poll against a deadline, never a fixed sleep.
deadline=$((SECONDS + 60))
until curl -sf "http://127.0.0.1:${GATEWAY_PORT}/health" >/dev/null 2>&1 \
    && { [ -z "$GW2_PID" ] || curl -sf "http://127.0.0.1:$((GATEWAY_PORT + 1))/health" >/dev/null 2>&1; }; do
  if ! kill -0 "$GW_PID" 2>/dev/null; then
    echo "gateway exited during startup; log:" >&2; cat "$GW_LOG" >&2; exit 1
  fi
  if [ $SECONDS -ge $deadline ]; then
    echo "gateway not healthy within 60 s; log:" >&2; cat "$GW_LOG" >&2; exit 1
  fi
  sleep 0.1
done
# The JVM pid (taskset execs java, so the pid is the same).
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) cores  $(java -version 2>&1 | head -1)"
echo "== gateway: $GATEWAY pid $GW_PID io_threads=${GATEWAY_IO_THREADS:-default} pinned=$PINNED"
echo "== load before: $(uptime | sed 's/.*load average/load average/')"
echo "== tool: ${TOOL_CMD[*]} ${ARGS[*]} --pid $GW_PID" | sed "s/--secret [^ ]*/--secret ***/"
set +e
"${TOOL_CMD[@]}" "${ARGS[@]}" --pid "$GW_PID"
RC=$?
set -e
echo "== load after: $(uptime | sed 's/.*load average/load average/')"
exit $RC
