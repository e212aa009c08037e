#!/usr/bin/env bash
# The contract as generators see it (issue 17): openapi-python-client generates a client from openapi.yaml with
# no warning, walk.py drives the real server with that client alone, and datamodel-code-generator makes one
# class per named set (no `Status1`, no `Encoding1`, no `…Type2Type1`). Traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${SOCKPIT_BIN:-$(swift build --show-bin-path)/sockpit}"
WORK="$(mktemp -d)"
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

echo "== openapi-python-client generates a client with no warning"
openapi-python-client generate --path openapi.yaml --config Tests/client/openapi-python-client.yaml --meta none \
  --output-path "$WORK/sockpit_client" >"$WORK/generate.log" 2>&1 || { cat "$WORK/generate.log"; exit 1; }
# And with no settings at all, as a new user runs it: no warning either.
openapi-python-client generate --path openapi.yaml --meta none --output-path "$WORK/plain" >"$WORK/plain.log" 2>&1 \
  || { cat "$WORK/plain.log"; exit 1; }
if grep -qi "warning" "$WORK/plain.log"; then cat "$WORK/plain.log"; echo "FAIL: openapi-python-client warned (no config)"; exit 1; fi
if grep -qi "warning" "$WORK/generate.log"; then cat "$WORK/generate.log"; echo "FAIL: openapi-python-client warned"; exit 1; fi
echo "$(ls "$WORK/sockpit_client/models" | wc -l) model modules, $(find "$WORK/sockpit_client/api" -name '*.py' ! -name '__init__.py' | wc -l) operations"

echo "== datamodel-code-generator: one class per named set"
datamodel-codegen --input openapi.yaml --input-file-type openapi --output "$WORK/models.py" --formatters black 2>/dev/null
numbered=$(grep -E '^class [A-Za-z_]*[0-9]+\(' "$WORK/models.py" || true)
if [ -n "$numbered" ]; then echo "$numbered"; echo "FAIL: numbered duplicate classes"; exit 1; fi
echo "$(grep -c '^class ' "$WORK/models.py") classes, none numbered"

echo "== the README's walk-through through the generated client"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token="client-walk-$$"
"$BIN" serve --listen "127.0.0.1:$port" --data-dir "$WORK/data" --token "$token" --sse-max-duration-ms 1500 \
  --log-level warning 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 400); do
  curl -sf "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.025
done
PYTHONPATH="$WORK" python3 Tests/client/walk.py "http://127.0.0.1:$port" "$token" openapi.yaml || { tail -20 "$WORK/server.log"; exit 1; }
