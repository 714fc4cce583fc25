#!/bin/bash
# Development run of the browser test against the mock server (mock-server.mjs), NOT the test
# of record: that one runs console.test.mjs against a real kiosk-web (docs/guides/CONSOLE.md).
#   tests/browser/run-mock.sh            screenshots in tests/browser/shots/
# Installs the pinned packages (npm ci) if missing; starts the mock on a free port, runs the
# test, and stops the mock by its pid whatever happens.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm ci --no-audit --no-fund)
[ -f "$root/server/web/console/public/assets/vendor/echarts.min.js" ] ||
    (cd "$root/server/web/console" && npm ci --no-audit --no-fund)

log=$(mktemp)
node "$here/mock-server.mjs" --port 0 >"$log" 2>&1 &
mock=$!
trap 'kill "$mock" 2>/dev/null; wait "$mock" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q '^listening' "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening //p' "$log")
[ -n "$url" ] || { cat "$log" >&2; exit 1; }
users=$(sed -n "s/^KF_WEB_USERS='\(.*\)'$/\1/p" "$log")

KF_WEB_URL=$url KF_WEB_USERS=$users KF_WEB_SHOTS=${KF_WEB_SHOTS:-$here/shots} \
    node "$here/console.test.mjs"
