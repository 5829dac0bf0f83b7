#!/usr/bin/env bash
# Fuzzes the broker's parsers of untrusted bytes for longer than CI does (CI: 5 s each, in mvn verify).
#
#   gateway-broker-rabbit/fuzz.sh [seconds per target, default 300] [target ...]
#
# Targets: codec-decode (EnvelopeCodec.decode), codec-roundtrip (EnvelopeCodec.encode/decode),
# ingress (the ingress JSON parser); all three by default. Each runs the Jazzer command line on the
# same fuzzerTestOneInput as its JUnit @FuzzTest, with a corpus kept under target/fuzz-corpus/<target>
# (seeded from the JUnit inputs). A finding stops that target with a crash-* file in the working
# directory: copy it into the target's *FuzzTestInputs directory (named for what it shows) and add a
# unit test, so it stays a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(codec-decode codec-roundtrip ingress)
fi

mvn -B -q -pl gateway-broker-rabbit -am test-compile
cpfile=gateway-broker-rabbit/target/fuzz-classpath.txt
mvn -B -q -pl gateway-broker-rabbit dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$PWD/$cpfile" >/dev/null
cp="gateway-broker-spi/target/test-classes:gateway-broker-spi/target/classes"
cp="$cp:gateway-broker-rabbit/target/test-classes:gateway-broker-rabbit/target/classes:$(cat "$cpfile")"
spi_inputs=gateway-broker-spi/src/test/resources/io/wsgateway/broker
rabbit_inputs=gateway-broker-rabbit/src/test/resources/io/wsgateway/rabbit/internal

status=0
for target in "${targets[@]}"; do
  case "$target" in
    codec-decode) class=io.wsgateway.broker.EnvelopeCodecDecodeFuzzTest; seeds=$spi_inputs/EnvelopeCodecDecodeFuzzTestInputs/decode ;;
    codec-roundtrip) class=io.wsgateway.broker.EnvelopeCodecRoundTripFuzzTest; seeds= ;;
    ingress) class=io.wsgateway.rabbit.internal.IngressMessagesFuzzTest; seeds=$rabbit_inputs/IngressMessagesFuzzTestInputs/parse ;;
    *) echo "unknown target: $target (expected: codec-decode, codec-roundtrip or ingress)" >&2; exit 2 ;;
  esac
  corpus=gateway-broker-rabbit/target/fuzz-corpus/$target
  mkdir -p "$corpus"
  if [ -n "$seeds" ]; then cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true; fi
  echo "== fuzzing $target ($class) for ${seconds}s"
  if ! java -Xmx1g -cp "$cp" com.code_intelligence.jazzer.Jazzer --target_class="$class" \
      --instrumentation_includes='io.wsgateway.**:com.fasterxml.jackson.**' \
      -max_total_time="$seconds" -rss_limit_mb=2048 "$corpus"; then
    echo "== $target: FINDING (see the crash-* file above)"
    status=1
  fi
done
exit $status
