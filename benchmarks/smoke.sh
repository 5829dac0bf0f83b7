#!/usr/bin/env bash
# CI smoke run of the benchmarks: every JMH benchmark once (one 200 ms iteration, no warmup, no fork)
# and a tiny run of each load-tool scenario against a gateway started by run.sh (the flat route and
# the fanout ones also against the bare Netty router, BASELINE=1). Proves the paths
# work and the sanity checks pass; the figures it prints mean nothing. Exits non-zero on any failure.
# Needs RabbitMQ on 127.0.0.1:5672 (BrokerBenchmark's rabbit case). About a minute on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JAR=benchmarks/target/benchmarks.jar
if [ ! -f "$JAR" ] || [ "${BUILD:-1}" = 1 ]; then
  mvn -q -pl benchmarks -am package -DskipTests
fi
start=$SECONDS

# -foe true: a benchmark whose setup, sanity check or teardown throws fails the run.
# connections=2: the 1000-connection case of LocalRoutingBenchmark only adds setup time here.
java -jar "$JAR" -f 0 -wi 0 -i 1 -r 200ms -foe true -p connections=2 -rf text -rff /dev/null

export PIN=0 GATEWAY=${GATEWAY:-bench}
# BASELINE=1: the same flat route run against the bare Netty router first (its main, welcome, ack).
BASELINE=1 benchmarks/run.sh route --users 4 --flat --window 16 --duration 2 --warmup 1
benchmarks/run.sh route --users 4 --rate 1000 --duration 2 --warmup 1
BASELINE=1 benchmarks/run.sh fanout --subscribers 50 --publishes 20 --window 4
benchmarks/run.sh storm --connections 200 --warmup-rounds 2 --warmup-max-rounds 4
benchmarks/run.sh idle --connections 200 --hold 1
# The example gateway against 2 flooding clients: the path works and no well-behaved message is lost
# (the memory limit is loose here: 3 s say nothing about it).
benchmarks/run.sh hostile --hostile 2 --duration 3 --warmup 2 --good 2 --rate 50 --max-growth-mb 1000

echo "smoke: all benchmarks and scenarios passed in $((SECONDS - start)) s"
