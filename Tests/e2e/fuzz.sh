#!/usr/bin/env bash
# Runs Tests/e2e/fuzz_http.py for FUZZ_SECONDS (default 60) against the built `sockpit`, inside a fresh network
# namespace with only loopback up: the addresses the fuzzer generates can reach nothing else. The namespace and
# the temp directory are removed afterwards. Needs root (CI runs as root); without it, says so and skips.
# Environment: SOCKPIT_BIN (default: the debug build), FUZZ_SECONDS, FUZZ_SEED (default: the time).
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "skipped: network namespaces need root"; exit 0; fi
BIN="${SOCKPIT_BIN:-$(swift build --show-bin-path)/sockpit}"
SECONDS_TO_RUN="${FUZZ_SECONDS:-60}"
SEED="${FUZZ_SEED:-$(date +%s)}"
NS="sp-fuzz-$$"
WORK="$(mktemp -d)"
PORT=18090
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || { echo "FAIL - cannot make network namespace $NS"; exit 1; }
ip netns exec "$NS" "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --max-wait-ms 200 --probe-deadline 2 \
  --log-level error 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 200); do
  ip netns exec "$NS" curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "FAIL - the server did not start"; cat "$WORK/server.log"; exit 1; }
  sleep 0.05
done
status=0
(cd "$WORK" && ip netns exec "$NS" python3 "$OLDPWD/Tests/e2e/fuzz_http.py" "$PORT" "$SECONDS_TO_RUN" "$SEED") || status=1
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "FAIL - the server died"; status=1
fi
if [ "$status" -ne 0 ]; then
  [ -f "$WORK/fuzz-failure.bin" ] && cp "$WORK/fuzz-failure.bin" /tmp/sockpit-fuzz-failure.bin && echo "     kept in /tmp/sockpit-fuzz-failure.bin"
  echo "server log (last 30 lines):"; tail -n 30 "$WORK/server.log"
fi
exit "$status"
