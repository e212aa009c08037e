#!/usr/bin/env bash
# An ndjson export of 100,000 events streams with bounded server memory: fills a fresh database through
# SQL, starts the server on it, streams GET /v1/events?format=ndjson while sampling VmRSS, and requires
# every line to arrive and the resident memory to grow by far less than the export's size (the server
# holds one page, not the export). 127.0.0.1 only; the temp dir is removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${SOCKPIT_BIN:-$(swift build --show-bin-path)/sockpit}"
EVENTS=100000
WORK="$(mktemp -d)"
SERVER=""
trap '[ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }; rm -rf "$WORK"' EXIT
DATA="$WORK/data"
"$BIN" migrate --data-dir "$DATA" >/dev/null
bash bench/fill_send_events.sh "$DATA/sockpit.sqlite" "$EVENTS"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Retention off: the synthetic events are dated 2025 and would otherwise be pruned at start.
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --retention-days 0 --retention-max-events 0 \
  --log-level warning 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 400); do curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null && break; sleep 0.025; done
rss() { awk '/VmRSS/ { print $2 }' "/proc/$SERVER/status"; }
before=$(rss)
( while kill -0 "$SERVER" 2>/dev/null; do rss; sleep 0.05; done ) >"$WORK/rss" 2>/dev/null &
SAMPLER=$!
curl -sS "http://127.0.0.1:$PORT/v1/events?format=ndjson&order=asc" >"$WORK/export.ndjson"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
lines=$(wc -l <"$WORK/export.ndjson")
size=$(wc -c <"$WORK/export.ndjson")
peak=$(sort -n "$WORK/rss" | tail -n 1)
growth=$(( (peak - before) / 1024 ))
echo "lines $lines of $EVENTS; export $((size / 1048576)) MB; server VmRSS before $((before / 1024)) MB, peak $((peak / 1024)) MB, growth $growth MB"
[ "$lines" = "$EVENTS" ] || { echo "missing lines"; exit 1; }
python3 -c "
import json
with open('$WORK/export.ndjson') as f:
    ids = [int(json.loads(line)['id']) for line in f]
assert ids == sorted(ids) and len(set(ids)) == $EVENTS, 'ids out of order or repeated'
"
# The export is ~30 MB; holding it (or even a tenth of it) would show. One 1000-event page is ~0.3 MB.
[ "$growth" -lt 12 ] || { echo "server memory grew by $growth MB during the export: not bounded"; exit 1; }
