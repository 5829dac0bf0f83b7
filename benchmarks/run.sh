#!/usr/bin/env bash
# Runs one load-tool scenario against a gateway this script starts, prints the figures, and stops the
# gateway. Usage:
#   benchmarks/run.sh idle|storm|route|fanout|hostile [LoadTool options, replacing the scenario's defaults]
# Environment:
#   GATEWAY=bench|example   which gateway to start (default: io.wsgateway.benchmarks.load.BenchGateway
#                           from benchmarks.jar; example = examples/target/gateway-example.jar; hostile
#                           always runs the example as the README starts it: plain java -jar, no heap flags)
#   EXAMPLE_JAR             the example gateway's jar (examples/target/gateway-example.jar), e.g. one built
#                           from an older commit for a before/after comparison
#   GATEWAY_PORT (18080), GATEWAY_JWT_SECRET, GATEWAY_IO_THREADS (1 for route/fanout), GATEWAY_RABBIT_URI
#   GATEWAY_JVM_OPTS, TOOL_JVM_OPTS   extra JVM flags (e.g. a JFR recording for the gateway)
#   PIN=0                   do not pin (default: gateway on CPU 0, tool on CPU 1 for route, fanout, storm)
#   CROSS=1                 route across two instances: starts a second gateway on GATEWAY_PORT+1, both with
#                           the Redis registry and the RabbitMQ broker (GATEWAY_REDIS_URI, GATEWAY_RABBIT_URI,
#                           defaults on 127.0.0.1; prefixes wsgwbench), and passes --url2/--pid2; unpinned
#   BUILD=1                 rebuild benchmarks.jar even if it exists
#   BASELINE=1              route or fanout: run the same tool command twice, first against the bare Netty router
#                           (io.wsgateway.benchmarks.baseline.BareRouter from benchmarks.jar, on BARE_PORT,
#                           default GATEWAY_PORT+2, with GATEWAY_IO_THREADS I/O threads, the same JVM heap
#                           flags plus BARE_JVM_OPTS, the same pinning), then against the gateway; prints
#                           both results and the gateway/bare ratios of delivered msg/s (fanout: deliveries/s),
#                           server CPU-us per message (per delivery) and latency (fanout: the time until every
#                           subscriber had a publish), each server's and the tool's CPU as a share of its core,
#                           and a warning when the tool used >= 90 % of its core and the server did not
#                           (that figure is the tool's ceiling). The bare router is the floor: user from the
#                           token's sub without verifying it, routing by byte search, acks, topic fan-out of
#                           one shared frame, nothing else.
#                           Exits non-zero if either run is not clean. Not with CROSS=1.
#                           BASELINE_ORDER=gateway runs the gateway first (default: the bare router first).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SCENARIO=${1:?usage: benchmarks/run.sh idle|storm|route|fanout|hostile [options]}
shift
JAR=benchmarks/target/benchmarks.jar
EXAMPLE_JAR=${EXAMPLE_JAR:-examples/target/gateway-example.jar}

export GATEWAY_PORT=${GATEWAY_PORT:-18080}
export GATEWAY_JWT_SECRET=${GATEWAY_JWT_SECRET:-load-tool-secret-load-tool-secret-0123456789}
export GATEWAY_INSTANCE_ID=${GATEWAY_INSTANCE_ID:-bench-1}

case "$SCENARIO" in
  idle)   DEFAULTS=(--connections 5000 --hold 5); PINNED=0 ;;
  storm)  DEFAULTS=(--connections 5000); PINNED=1 ;;
  route)  DEFAULTS=(--users 100 --flat --window 64 --duration 20 --warmup 5); PINNED=1
          export GATEWAY_IO_THREADS=${GATEWAY_IO_THREADS:-1} ;;
  fanout) DEFAULTS=(--subscribers 5000 --publishes 200); PINNED=1
          export GATEWAY_IO_THREADS=${GATEWAY_IO_THREADS:-1} ;;
  hostile) DEFAULTS=(--hostile 4 --duration 60); PINNED=0; GATEWAY=example ;;
  *) echo "unknown scenario: $SCENARIO (expected idle, storm, route, fanout, hostile)" >&2; exit 2 ;;
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
if [ "$SCENARIO" = hostile ]; then
  # The resident memory of the example as users run it is the measurement: no heap sizing, no pre-touch.
  [ -f "$EXAMPLE_JAR" ] && [ "${BUILD:-0}" != 1 ] || mvn -q -pl examples -am package -DskipTests
  GW_CMD=(java ${GATEWAY_JVM_OPTS:-} -jar "$EXAMPLE_JAR")
elif [ "$GATEWAY" = example ]; then
  GW_CMD=(java "${GW_JVM[@]}" -jar "$EXAMPLE_JAR")
else
  GW_CMD=(java "${GW_JVM[@]}" -cp "$JAR" io.wsgateway.benchmarks.load.BenchGateway)
fi
TOOL_CMD=(java -Xms512m -Xmx512m ${TOOL_JVM_OPTS:-} -cp "$JAR" io.wsgateway.benchmarks.load.LoadTool
  "$SCENARIO" --secret "$GATEWAY_JWT_SECRET")
if [ "$PINNED" = 1 ]; then
  GW_CMD=(taskset -c 0 "${GW_CMD[@]}")
  TOOL_CMD=(taskset -c 1 "${TOOL_CMD[@]}")
fi

BASELINE=${BASELINE:-0}
if [ "$BASELINE" = 1 ]; then
  if { [ "$SCENARIO" != route ] && [ "$SCENARIO" != fanout ]; } || [ "${CROSS:-0}" = 1 ]; then
    echo "BASELINE=1 is for the local route and fanout scenarios only (no CROSS=1)" >&2; exit 2
  fi
  BARE_PORT=${BARE_PORT:-$((GATEWAY_PORT + 2))}
  BARE_CMD=(java -Xms512m -Xmx512m -XX:+AlwaysPreTouch -Dio.netty.leakDetection.level=disabled ${BARE_JVM_OPTS:-}
    -cp "$JAR" io.wsgateway.benchmarks.baseline.BareRouter --port "$BARE_PORT" --threads "${GATEWAY_IO_THREADS:-1}")
  [ "$PINNED" = 1 ] && BARE_CMD=(taskset -c 0 "${BARE_CMD[@]}")
fi

SRV_PID=""
GW2_PID=""
cleanup() {
  for pid in $SRV_PID $GW2_PID; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT

# run_against NAME PORT OUT_FILE CMD...: starts the server, waits for its GET /health, runs the tool
# against ws://127.0.0.1:PORT/ws (output to the terminal and OUT_FILE), stops the server; returns the
# tool's exit status. Call it as `run_against ... && RC=0 || RC=$?` (errexit is off inside).
run_against() {
  local name=$1 port=$2 out=$3
  shift 3
  local log url rc args
  log=$(mktemp -t "bench-$name.XXXXXX.log")
  url="ws://127.0.0.1:${port}/ws"
  "$@" >"$log" 2>&1 &
  SRV_PID=$!
  args=("${ARGS[@]}")
  if [ "${CROSS:-0}" = 1 ]; then
    GW2_LOG=$(mktemp -t bench-gateway2.XXXXXX.log)
    GATEWAY_PORT=$((GATEWAY_PORT + 1)) GATEWAY_INSTANCE_ID=bench-2 "$@" >"$GW2_LOG" 2>&1 &
    GW2_PID=$!
    args+=(--url2 "ws://127.0.0.1:$((GATEWAY_PORT + 1))/ws" --pid2 "$GW2_PID")
  fi
  # Wait for GET /health: poll against a deadline, never a fixed sleep.
  local deadline=$((SECONDS + 60))
  until curl -sf "http://127.0.0.1:${port}/health" >/dev/null 2>&1 \
      && { [ -z "$GW2_PID" ] || curl -sf "http://127.0.0.1:$((GATEWAY_PORT + 1))/health" >/dev/null 2>&1; }; do
    if ! kill -0 "$SRV_PID" 2>/dev/null; then
      echo "$name exited during startup; log:" >&2; cat "$log" >&2; return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "$name not healthy within 60 s; log:" >&2; cat "$log" >&2; return 1
    fi
    sleep 0.1
  done
  # The JVM pid (taskset execs java, so the pid is the same).
  {
    echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) cores  $(java -version 2>&1 | head -1)"
    if [ "$name" = bare ]; then
      echo "== server: bare Netty router (BareRouter) pid $SRV_PID io_threads=${GATEWAY_IO_THREADS:-1} pinned=$PINNED"
    else
      echo "== gateway: $GATEWAY pid $SRV_PID io_threads=${GATEWAY_IO_THREADS:-default} pinned=$PINNED"
    fi
    echo "== load before: $(uptime | sed 's/.*load average/load average/')"
    echo "== tool: ${TOOL_CMD[*]} --url $url ${args[*]} --pid $SRV_PID" | sed "s/--secret [^ ]*/--secret ***/"
  } | tee "$out"
  "${TOOL_CMD[@]}" --url "$url" "${args[@]}" --pid "$SRV_PID" 2>&1 | tee -a "$out"
  rc=${PIPESTATUS[0]}
  echo "== load after: $(uptime | sed 's/.*load average/load average/')" | tee -a "$out"
  cleanup
  SRV_PID=""
  GW2_PID=""
  return $rc
}

# field FILE: prints "per_s server_cpu_us_per_op p50 p99 server_core_% tool_core_%" from a route run's
# output (messages, send-to-receive latency) or a fanout run's (deliveries, time until every subscriber
# had a publish); - where missing. A core % is that process's CPU time over the measured seconds.
field() {
  awk '
    /^(delivered_msgs_per_s|deliveries_per_s):/ { rate = $2; for (i = 1; i <= NF; i++) if ($i == "in") secs = $(i + 1) }
    /^(latency|time_until_all_received):/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "p50") p50 = kv[2]; if (kv[1] == "p99") p99 = kv[2] } }
    /^gateway_cpu_s:/ { scpu = $2; for (i = 1; i <= NF; i++) if ($i == "gateway_cpu_us_per_msg:" || $i == "gateway_cpu_us_per_delivery:") per = $(i + 1) }
    /^tool_cpu_s:/ { tcpu = $2 }
    END {
      pct = "-"; tpct = "-"
      if (secs > 0 && scpu != "") pct = sprintf("%.0f", 100 * scpu / secs)
      if (secs > 0 && tcpu != "") tpct = sprintf("%.0f", 100 * tcpu / secs)
      printf "%s %s %s %s %s %s\n", rate == "" ? "-" : rate, per == "" ? "-" : per, p50 == "" ? "-" : p50,
        p99 == "" ? "-" : p99, pct, tpct
    }' "$1"
}

GW_OUT=$(mktemp -t bench-gateway-out.XXXXXX)
if [ "$BASELINE" = 1 ]; then
  BARE_OUT=$(mktemp -t bench-bare-out.XXXXXX)
  if [ "${BASELINE_ORDER:-bare}" = gateway ]; then
    run_against gateway "$GATEWAY_PORT" "$GW_OUT" "${GW_CMD[@]}" && RC=0 || RC=$?
    run_against bare "$BARE_PORT" "$BARE_OUT" "${BARE_CMD[@]}" && BARE_RC=0 || BARE_RC=$?
  else
    run_against bare "$BARE_PORT" "$BARE_OUT" "${BARE_CMD[@]}" && BARE_RC=0 || BARE_RC=$?
    run_against gateway "$GATEWAY_PORT" "$GW_OUT" "${GW_CMD[@]}" && RC=0 || RC=$?
  fi
  read -r b_rate b_cpu b_p50 b_p99 b_pct b_tpct <<<"$(field "$BARE_OUT")"
  read -r g_rate g_cpu g_p50 g_p99 g_pct g_tpct <<<"$(field "$GW_OUT")"
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
  echo "== baseline (same command, same pinning; $([ "${BASELINE_ORDER:-bare}" = gateway ] && echo "gateway first, then the bare router" || echo "bare router first, then the gateway"))"
  fmt='%-8s %14s %14s %9s %9s %12s %10s  %s\n'
  if [ "$SCENARIO" = fanout ]; then
    printf "$fmt" server deliveries/s cpu_us/dlv all_p50_us all_p99_us server_core% tool_core% result
  else
    printf "$fmt" server delivered/s cpu_us/msg p50_us p99_us server_core% tool_core% result
  fi
  printf "$fmt" bare "$b_rate" "$b_cpu" "$b_p50" "$b_p99" "$b_pct" "$b_tpct" "$([ "$BARE_RC" = 0 ] && echo clean || echo "FAILED rc=$BARE_RC")"
  printf "$fmt" gateway "$g_rate" "$g_cpu" "$g_p50" "$g_p99" "$g_pct" "$g_tpct" "$([ "$RC" = 0 ] && echo clean || echo "FAILED rc=$RC")"
  echo "ratio gateway/bare: per second $(ratio "$g_rate" "$b_rate")x  cpu_us $(ratio "$g_cpu" "$b_cpu")x  p50 $(ratio "$g_p50" "$b_p50")x  p99 $(ratio "$g_p99" "$b_p99")x"
  # A flat-out figure is the server's only if the server, not the tool, used up its core.
  for who in bare gateway; do
    if [ "$who" = bare ]; then t=$b_tpct; v=$b_pct; else t=$g_tpct; v=$g_pct; fi
    if [ "$t" != - ] && [ "$t" -ge 90 ] && { [ "$v" = - ] || [ "$v" -lt 90 ]; }; then
      echo "WARNING: the tool used ${t}% of its core and the $who server ${v}%: the $who figure may be the tool's ceiling, not the server's"
    fi
  done
  rm -f "$BARE_OUT" "$GW_OUT"
  [ "$BARE_RC" = 0 ] || exit "$BARE_RC"
  exit "$RC"
fi
run_against gateway "$GATEWAY_PORT" "$GW_OUT" "${GW_CMD[@]}" && RC=0 || RC=$?
rm -f "$GW_OUT"
exit $RC
