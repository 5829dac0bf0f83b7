#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers of untrusted bytes, with Jazzer (docs/security.md, "Fuzzing").
#
#   gateway-netty/fuzz.sh parse|handshake [MINUTES (5)]
#
# parse:     Protocol.parse, the client frame parser          (ProtocolFuzzTest#parse)
# handshake: the HTTP stage: request line, headers, query      (HandshakeFuzzTest#handshake)
#
# Runs the @FuzzTest in Jazzer's fuzzing mode in rounds of its maxDuration (5 min) until MINUTES have
# passed or it finds a failure. The corpus it grows is kept in gateway-netty/.cifuzz-corpus (not
# committed) and carried from round to round. A failing input is written under
# src/test/resources/io/wsgateway/netty/internal/<Test>Inputs/<method>/crash-*, and every build replays
# it from then on: commit it with the fix (and a named @Test beside the property when it deserves one).
# Every build also runs a short non-guided pass of each property; -Dwsgateway.fuzz.iterations=N makes
# that one longer.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  parse) TEST='ProtocolFuzzTest#parse' ;;
  handshake) TEST='HandshakeFuzzTest#handshake' ;;
  *) echo "usage: gateway-netty/fuzz.sh parse|handshake [MINUTES]" >&2; exit 2 ;;
esac
MINUTES=${2:-5}
ROUNDS=$(( (MINUTES + 4) / 5 ))
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS: $TEST"
  if ! JAZZER_FUZZ=1 mvn -B -q -pl gateway-netty -am verify -Dtest="$TEST" -Dsurefire.failIfNoSpecifiedTests=false \
      -Dsurefire.argLine=-Dio.netty.leakDetection.level=disabled; then
    echo "== a failure was found: see the crash-* input under gateway-netty/src/test/resources" >&2
    exit 1
  fi
done
echo "== no failure in $ROUNDS round(s)"
