#!/usr/bin/env bash
# Builds and tests the JavaScript client (run by .ci/run after `mvn -B verify`):
#   - installs Debian's chromium when it is missing (the browser tests never download a browser);
#   - npm ci, build, and a check that the copy the example serves is this build;
#   - unit tests (node --test), integration tests against the example gateway (Node + ws), browser
#     tests in headless Chromium (playwright-core), including the drain behind HAProxy with the
#     machine's Redis and RabbitMQ.
# The example jar is built first unless JAR_BUILT=1 says the caller just built it.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

npm ci --no-audit --no-fund
npm run build
npm run check-example

if [ "${JAR_BUILT:-0}" != 1 ]; then
  (cd .. && mvn -B -q -pl examples -am package -DskipTests)
fi

npm run test:unit
npm run test:integration
npm run test:browser
