#!/usr/bin/env bash
# Many concurrent connections across a fleet of gateway instances on one machine (issue #6):
# starts INSTANCES BenchGateway JVMs sharing Redis (registry) and RabbitMQ (broker), one load-tool `idle`
# process per gateway holding CONNS connections each (users f<k>-idle-0 .. f<k>-idle-(CONNS-1)), and once
# all are open checks that
#   (a) the Redis registry holds every connection (SCARD of each instance's connection index, and the
#       number of per-user hashes), and
#   (b) every instance is reachable: FleetCheck connects one sender to each instance and sends, from each
#       sender, to SAMPLES random users held on every instance, expecting an ack for each;
# then prints the figures, releases the connections, stops everything and deletes what it created.
#
# Usage: benchmarks/fleet.sh                 (6 x 17,000 = 102,000 connections)
#        CONNS=2000 benchmarks/fleet.sh      (a quick run)
# Environment (defaults in brackets):
#   CONNS [17000]       connections per tool process (and per gateway); each process may hold at most
#                       20,000 open files here, so keep it <= ~17,000
#   INSTANCES [6]       gateways (and tool processes)
#   BASE_PORT [19001]   gateway k listens on BASE_PORT+k-1, instance id fleet-k
#   SOURCES [16]        source addresses 127.0.0.1..127.0.0.SOURCES each tool binds round-robin
#   CONCURRENCY [500]   handshakes outstanding per tool process
#   WARMUP [200]        connections each tool opens and closes first (JIT and pools warm)
#   SAMPLES [10]        sends per (sender instance, target instance) pair in the reachability check
#   GW_HEAP [384m]  TOOL_HEAP [384m]  GW_IO_THREADS [1]
#   CONNECT_TIMEOUT [600]  seconds each tool may take to open its connections
#   REDIS_HOST [127.0.0.1] REDIS_PORT [6379]  RABBIT_URI [amqp://guest:guest@127.0.0.1:5672]
#   GATEWAY_JWT_SECRET  shared HS256 secret (a fixed test secret by default)
#   BUILD=1             rebuild benchmarks.jar even if it exists
#   KEEP_LOGS=1         keep the per-process logs (the directory is printed)
# Exit status 0 only if every connection was opened, registered and held, and every sample send acked.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JAR=benchmarks/target/benchmarks.jar

CONNS=${CONNS:-17000}
INSTANCES=${INSTANCES:-6}
BASE_PORT=${BASE_PORT:-19001}
SOURCES=${SOURCES:-16}
CONCURRENCY=${CONCURRENCY:-500}
WARMUP=${WARMUP:-200}
SAMPLES=${SAMPLES:-10}
GW_HEAP=${GW_HEAP:-384m}
TOOL_HEAP=${TOOL_HEAP:-384m}
GW_IO_THREADS=${GW_IO_THREADS:-1}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-600}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
RABBIT_URI=${RABBIT_URI:-amqp://guest:guest@127.0.0.1:5672}
SECRET=${GATEWAY_JWT_SECRET:-load-tool-secret-load-tool-secret-0123456789}
REDIS_PREFIX=wsgwfleet:
RABBIT_PREFIX=wsgwfleet
HOLD_MAX=$((CONNECT_TIMEOUT + 900))   # the tools let go by themselves after this, even if we die

REDIS=(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT")
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

if [ ! -f "$JAR" ] || [ "${BUILD:-0}" = 1 ]; then
  mvn -q -pl benchmarks -am package -DskipTests
fi
"${REDIS[@]}" ping >/dev/null || { echo "fleet: Redis not reachable at $REDIS_HOST:$REDIS_PORT" >&2; exit 1; }
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((CONNS + 500)) ]; then
  echo "fleet: open-file limit $NOFILE is too low for CONNS=$CONNS per process" >&2
  exit 1
fi

RUN_DIR=$(mktemp -d -t fleet.XXXXXX)
RELEASE="$RUN_DIR/release"
GW_PIDS=()
TOOL_PIDS=()

delete_redis_keys() {
  # SCAN + UNLINK in batches; never FLUSHALL (the Redis is shared).
  "${REDIS[@]}" --scan --pattern "${REDIS_PREFIX}*" | xargs -r -d '\n' -n 500 "${REDIS[@]}" UNLINK >/dev/null
}

# Stops (TERM, then KILL after a deadline) and reaps the given pids.
stop_all() {
  local deadline=$((SECONDS + $1)); shift
  local pid
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  set +e
  touch "$RELEASE"
  # The tools close their connections once the release file exists; give them a little time to.
  local deadline=$((SECONDS + 60)) pid
  for pid in "${TOOL_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  done
  [ ${#TOOL_PIDS[@]} -gt 0 ] && stop_all 10 "${TOOL_PIDS[@]}"
  [ ${#GW_PIDS[@]} -gt 0 ] && stop_all 60 "${GW_PIDS[@]}"
  delete_redis_keys
  # The inbox queues expire by themselves (x-expires); the ingress and orphans queues are durable; delete them all.
  # The exchanges (wsgwfleet.inbox, .topics, .ingress) are left: durable but fixed-name, so repeated
  # runs reuse them instead of accumulating (rabbitmqctl cannot delete exchanges).
  if command -v rabbitmqctl >/dev/null; then
    local q
    for q in "$RABBIT_PREFIX.ingress" "$RABBIT_PREFIX.orphans" $(seq -f "$RABBIT_PREFIX.inbox.fleet-%g" 1 "$INSTANCES"); do
      timeout 30 rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1
    done
  fi
  if [ "${KEEP_LOGS:-0}" = 1 ] || [ $rc -ne 0 ]; then
    echo "== logs kept in $RUN_DIR"
  else
    rm -rf "$RUN_DIR"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

delete_redis_keys   # leftovers of an interrupted run would spoil the registry count

echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) cores  $(java -version 2>&1 | head -1)"
echo "== fleet: $INSTANCES gateways x $CONNS connections = $((INSTANCES * CONNS)); sources $SOURCES;" \
  "open files $NOFILE; ephemeral ports $(sysctl -n net.ipv4.ip_local_port_range | tr '\t' '-')"
echo "== load before: $(uptime | sed 's/.*load average/load average/')"

# 1. Gateways.
for k in $(seq 1 "$INSTANCES"); do
  GATEWAY_PORT=$((BASE_PORT + k - 1)) GATEWAY_INSTANCE_ID=fleet-$k GATEWAY_JWT_SECRET="$SECRET" \
  GATEWAY_IO_THREADS=$GW_IO_THREADS \
  GATEWAY_REDIS_URI="redis://$REDIS_HOST:$REDIS_PORT" GATEWAY_REDIS_PREFIX=$REDIS_PREFIX \
  GATEWAY_RABBIT_URI="$RABBIT_URI" GATEWAY_RABBIT_PREFIX=$RABBIT_PREFIX \
    java -Xms"$GW_HEAP" -Xmx"$GW_HEAP" -XX:+AlwaysPreTouch -Dio.netty.leakDetection.level=disabled \
      -cp "$JAR" io.wsgateway.benchmarks.load.BenchGateway >"$RUN_DIR/gw-$k.log" 2>&1 &
  GW_PIDS+=($!)
done
T0=$(now)
deadline=$((SECONDS + 180))
for k in $(seq 1 "$INSTANCES"); do
  until curl -sf "http://127.0.0.1:$((BASE_PORT + k - 1))/health" >/dev/null 2>&1; do
    if ! kill -0 "${GW_PIDS[k-1]}" 2>/dev/null; then
      echo "fleet: gateway fleet-$k exited during startup; log:" >&2; cat "$RUN_DIR/gw-$k.log" >&2; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "fleet: gateway fleet-$k not healthy within 180 s; log:" >&2; cat "$RUN_DIR/gw-$k.log" >&2; exit 1
    fi
    sleep 0.2
  done
done
echo "== gateways healthy after $(secs "$T0" "$(now)") s: pids ${GW_PIDS[*]} (heap $GW_HEAP, io threads $GW_IO_THREADS)"

# 2. Load-tool processes, one per gateway, all at once.
T1=$(now)
for k in $(seq 1 "$INSTANCES"); do
  java -Xms"$TOOL_HEAP" -Xmx"$TOOL_HEAP" -cp "$JAR" io.wsgateway.benchmarks.load.LoadTool idle \
    --url "ws://127.0.0.1:$((BASE_PORT + k - 1))/ws" --secret "$SECRET" --connections "$CONNS" \
    --user-prefix "f$k-" --sources "$SOURCES" --concurrency "$CONCURRENCY" --warmup-connections "$WARMUP" \
    --connect-timeout "$CONNECT_TIMEOUT" --hold "$HOLD_MAX" --hold-until "$RELEASE" \
    --pid "${GW_PIDS[k-1]}" >"$RUN_DIR/tool-$k.log" 2>&1 &
  TOOL_PIDS+=($!)
done

# Wait until every tool has printed its figures and holds its connections ("holding:").
deadline=$((SECONDS + CONNECT_TIMEOUT + 180))
T_CONNECTED=""
while :; do
  ready=0 connected=0
  for k in $(seq 1 "$INSTANCES"); do
    grep -q '^connected:' "$RUN_DIR/tool-$k.log" && connected=$((connected + 1))
    if grep -q '^holding:' "$RUN_DIR/tool-$k.log"; then
      ready=$((ready + 1))
    elif ! kill -0 "${TOOL_PIDS[k-1]}" 2>/dev/null; then
      echo "fleet: tool $k exited before holding its connections; log:" >&2; cat "$RUN_DIR/tool-$k.log" >&2; exit 1
    fi
  done
  [ -z "$T_CONNECTED" ] && [ $connected -eq "$INSTANCES" ] && T_CONNECTED=$(now)
  [ $ready -eq "$INSTANCES" ] && break
  if [ $SECONDS -ge $deadline ]; then
    echo "fleet: only $ready of $INSTANCES tools holding after the deadline" >&2; tail -n 5 "$RUN_DIR"/tool-*.log >&2; exit 1
  fi
  sleep 1
done
echo "== load at peak: $(uptime | sed 's/.*load average/load average/')"

# 3a. Registry: each incarnation's connection index holds one member per registered connection.
REGISTERED=0
for key in $("${REDIS[@]}" --scan --pattern "${REDIS_PREFIX}c:*"); do
  n=$("${REDIS[@]}" SCARD "$key")
  echo "registry: $key $n"
  REGISTERED=$((REGISTERED + n))
done
USER_KEYS=$("${REDIS[@]}" --scan --pattern "${REDIS_PREFIX}u:*" | wc -l)

# 3b. Reachability.
PREFIXES=$(seq -s, -f 'f%g-idle-' 1 "$INSTANCES")
URLS=$(for k in $(seq 1 "$INSTANCES"); do printf 'ws://127.0.0.1:%d/ws,' $((BASE_PORT + k - 1)); done)
set +e
java -Xmx64m -cp "$JAR" io.wsgateway.benchmarks.load.FleetCheck --urls "${URLS%,}" --user-prefixes "$PREFIXES" \
  --users "$CONNS" --samples "$SAMPLES" --secret "$SECRET" | tee "$RUN_DIR/fleetcheck.log"
CHECK_RC=${PIPESTATUS[0]}
set -e

# 4. Figures at peak.
echo "== sockets: $(grep -E '^(TCP|sockets):' /proc/net/sockstat | tr '\n' ' ')"
echo "== memory: $(free -m | awk '/^Mem:/ { printf "used %d MiB, available %d MiB of %d MiB", $3, $7, $2 }')"
HELD=0
RSS_TOTAL=0
for k in $(seq 1 "$INSTANCES"); do
  log="$RUN_DIR/tool-$k.log"
  held=$(sed -n 's/^held: \([0-9]*\) open.*/\1/p' "$log")
  HELD=$((HELD + ${held:-0}))
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/${GW_PIDS[k-1]}/status")
  RSS_TOTAL=$((RSS_TOTAL + rss))
  printf 'fleet-%d: %s | held %s | gateway VmRSS %d MiB | %s | %s\n' "$k" \
    "$(sed -n 's/^connected: //p' "$log")" "${held:-?}" $((rss / 1024)) \
    "$(sed -n 's/^gateway_rss_kib: .*\(rss_per_connection: .*\)/\1/p' "$log")" \
    "$(sed -n 's/^gateway_heap_used_after_full_gc_kib: .*\(heap_per_connection: .*\)/\1/p' "$log")"
done
EXPECTED=$((INSTANCES * CONNS))
echo "== connections held: $HELD of $EXPECTED; all connected $(secs "$T1" "${T_CONNECTED:-$(now)}") s after the" \
  "tools started (incl. JVM start, token minting and $WARMUP warm-up connections each):" \
  "$(awk -v n="$HELD" -v a="$T1" -v b="${T_CONNECTED:-$(now)}" 'BEGIN { printf "%.0f", n / (b - a) }') conn/s overall"
echo "== gateway VmRSS total $((RSS_TOTAL / 1024)) MiB ($(awk -v r="$RSS_TOTAL" -v n="$HELD" \
  'BEGIN { printf "%.2f", n ? r / n : 0 }') KiB per connection, heaps of $GW_HEAP pre-touched included)"
echo "== registry: $REGISTERED connections in the instance indexes, $USER_KEYS user hashes (expected $EXPECTED each)"
echo "== reachability: $(grep '^fleetcheck: sends=' "$RUN_DIR/fleetcheck.log" || echo 'no result') (exit $CHECK_RC)"

# Release the connections and collect the tools' verdicts.
touch "$RELEASE"
TOOLS_OK=1
for k in $(seq 1 "$INSTANCES"); do
  if ! wait "${TOOL_PIDS[k-1]}"; then TOOLS_OK=0; fi
  grep -E '^(released|result):' "$RUN_DIR/tool-$k.log" | tr '\n' ' ' | sed "s/^/tool $k: /"; echo
done
TOOL_PIDS=()
echo "== load after: $(uptime | sed 's/.*load average/load average/')"

if [ "$HELD" -eq "$EXPECTED" ] && [ "$REGISTERED" -eq "$EXPECTED" ] && [ "$USER_KEYS" -eq "$EXPECTED" ] \
    && [ "$CHECK_RC" -eq 0 ] && [ "$TOOLS_OK" = 1 ]; then
  echo "fleet: PASS"
else
  echo "fleet: FAIL"
  exit 1
fi
