#!/usr/bin/env bash
# ndjson export of a large history with bounded server memory (issue: history and live events).
# Fills a fresh database with N events (default 100,000) through SQL, starts sockpit on it, streams
# GET /v1/events?format=ndjson to /dev/null while sampling the server's VmRSS every 50 ms, and prints
# the line count, the time, and the resident memory before, peak during, and after the export, next to a
# plain `sqlite3 -json` dump of the same rows as the baseline. Only 127.0.0.1 traffic; temp dir removed.
#   SOCKPIT_BIN=/path   the binary (default: swift build -c release --scratch-path .build-bench)
#   BENCH_EVENTS=100000 how many events
set -euo pipefail
BENCH_NAME=events_export
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
EVENTS=${BENCH_EVENTS:-100000}
[[ $EVENTS =~ ^[1-9][0-9]*$ ]] || die "BENCH_EVENTS must be a positive integer"
need_tools curl sqlite3 timeout python3
sockpit_binary --scratch-path "$REPO/.build-bench"
make_tmp sockpit-export

DATA="$TMP/data"
"$SOCKPIT_BIN" migrate --data-dir "$DATA" >/dev/null 2>&1 || die "migrate failed"
bash "$HERE/fill_send_events.sh" "$DATA/sockpit.sqlite" "$EVENTS" || die "filling the database failed"

# Retention off: the synthetic events are dated 2025-11 and the default keeps 30 days.
start_server sockpit sockpit "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$DATA" --log-level warning \
    --retention-days 0 --retention-max-events 0
SERVER_PID=${PID[sockpit]}
SERVER_PORT=${PORT[sockpit]}
rss() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
before=$(rss "$SERVER_PID")
peak=$before
( while kill -0 "$SERVER_PID" 2>/dev/null; do r=$(rss "$SERVER_PID"); echo "$r"; sleep 0.05; done ) >"$TMP/rss" &
SAMPLER=$!
t0=$EPOCHREALTIME
lines=$(timeout 300 curl -sS "http://127.0.0.1:$SERVER_PORT/v1/events?format=ndjson&order=asc" 2>"$TMP/curl.err" | wc -l)
[[ -s $TMP/curl.err ]] && cat "$TMP/curl.err" >&2
t1=$EPOCHREALTIME
sleep 0.2
kill "$SAMPLER" 2>/dev/null || true
peak=$(sort -n "$TMP/rss" | tail -n 1)
after=$(rss "$SERVER_PID")
t2=$EPOCHREALTIME
sqlite3 -json "$DATA/sockpit.sqlite" "SELECT * FROM events ORDER BY id" | wc -c >/dev/null
t3=$EPOCHREALTIME
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
echo "== ndjson export of $EVENTS events (sockpit $(basename "$SOCKPIT_BIN"), $(nproc) cores)"
echo "lines received:               $lines (expected $EVENTS)"
echo "export wall time:             $(secs "$t0" "$t1") s   (baseline: sqlite3 -json of the same rows $(secs "$t2" "$t3") s)"
echo "server VmRSS before / peak / after: $((before / 1024)) / $((peak / 1024)) / $((after / 1024)) MB (growth during export $(((peak - before) / 1024)) MB)"
[[ $lines == "$EVENTS" ]] || die "the export returned $lines lines, not $EVENTS"
