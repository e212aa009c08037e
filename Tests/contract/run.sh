#!/usr/bin/env bash
# Contract checks: openapi.yaml validates, and schemathesis runs every check against the live server.
# The server runs inside a fresh network namespace with only loopback up, so no address schemathesis
# generates can ever leave this machine; the namespace is removed afterwards. Every phase runs (examples,
# coverage, fuzzing, stateful). SCHEMATHESIS_EXAMPLES (default 50) and SCHEMATHESIS_SEED (default 42) widen it.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${SOCKPIT_BIN:-$(swift build --show-bin-path)/sockpit}"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-50}"
NS="sockpit-contract-$$"
WORK="$(mktemp -d)"
TOKEN="contract-token-$$"
PORT=18080
SERVER_PID=""

cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== openapi.yaml validates"
python3 -c 'from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
d, _ = read_from_filename("openapi.yaml"); validate(d); print("openapi.yaml: valid")'

echo "== schemathesis in network namespace $NS (loopback only)"
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --token "$TOKEN" \
  --max-wait-ms 200 --probe-deadline 2 --sse-max-duration-ms 300 --sse-heartbeat 1 --log-level warning 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 200); do
  ip netns exec "$NS" curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.05
done

status=0
ip netns exec "$NS" schemathesis --config-file Tests/contract/schemathesis.toml run openapi.yaml --url "http://127.0.0.1:$PORT" \
  -n "$EXAMPLES" --seed "${SCHEMATHESIS_SEED:-42}" --generation-database none \
  -H "Authorization: Bearer $TOKEN" \
  --report junit --report-dir "$WORK/report" || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis failed (exit $status); server log:"; tail -n 50 "$WORK/server.log"
  exit "$status"
fi
echo "contract: schemathesis passed"
