#!/usr/bin/env bash
# Runs a chaos schedule against three example gateways behind HAProxy (docs/chaos.md):
#   gateway-chaos/chaos.sh --duration 600 --seed 42          a 10-minute schedule
#   gateway-chaos/chaos.sh --seed 42 --plan                  print seed 42's schedule, run nothing
#   gateway-chaos/chaos.sh --check <run dir>/history.jsonl   check a stored history again
# Each run writes gateway-chaos/target/chaos/<time>-seed<N>-<id>/ (summary.txt, report.txt,
# history.jsonl, schedule.txt, logs/) and appends a line to gateway-chaos/target/chaos/results.tsv.
# Exit status: 0 clean, 1 violations, 2 harness error, 64 usage. BUILD=0 skips the build.
# Needs redis-server, haproxy and rabbitmqctl on the PATH and RabbitMQ on 127.0.0.1:5672.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${BUILD:-1}" != 0 ]; then
  mvn -B -q -pl gateway-chaos -am package -DskipTests
fi
CP="gateway-chaos/target/gateway-chaos-0.1.0-SNAPSHOT.jar:$(cat gateway-chaos/target/chaos.classpath)"
exec java -Xmx1g -Dio.netty.leakDetection.level=simple -cp "$CP" io.wsgateway.chaos.ChaosMain \
  --jar examples/target/gateway-example.jar --out gateway-chaos/target/chaos "$@"
