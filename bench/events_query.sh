#!/usr/bin/env bash
# Filtered pages of history with 1,000,000 events (target: a page of 100 answers in < 10 ms p50 and < 25 ms p99
# at the server). Fills a fresh database with a realistic history (bench/events_fill.py: 20,000 closed sockets,
# 300 probes, mixed ops, ~3 % errors and ~1 % timeouts, over the last 20 days), starts sockpit on it at the
# default log level, and runs ten query shapes of GET /v1/events?limit=100 (and /v1/sockets/{id}/events),
# each REPEAT times on one keep-alive connection (bench/events_query.py), then four extra shapes ("+", 100
# times each) whose query plans are known to be slow (see bench/README.md). It prints per shape and overall
# p50/p99 at the server (access log http.duration_ms), at the client, and for the baseline: the server's own
# SQL run by Python's sqlite3 module (same SQLite library) on the same file; then PASS/MISS and the query plans.
# Only 127.0.0.1 traffic; temp dir removed.
#   SOCKPIT_BIN=/path    the binary (default: swift build -c release --scratch-path .build-bench)
#   BENCH_EVENTS=1000000 events in the database
#   BENCH_SOCKETS=20000  closed sockets they belong to
#   BENCH_REPEAT=200     measured requests per shape
set -euo pipefail
BENCH_NAME=events_query
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
EVENTS=${BENCH_EVENTS:-1000000}
SOCKETS=${BENCH_SOCKETS:-20000}
REPEAT=${BENCH_REPEAT:-200}
for v in EVENTS SOCKETS REPEAT; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer"; done
need_tools curl python3 ss
sockpit_binary --scratch-path "$REPO/.build-bench"
make_tmp sockpit-query
private_binary
filled_history "$EVENTS" "$SOCKETS"

start_server sockpit sockpit "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$DATA" --log-level info \
    --retention-days 0 --retention-max-events 0
echo "== filtered pages of 100 events out of $EVENTS (sockpit built $BUILT, $(nproc) cores," \
    "$REPEAT requests per shape, sequential keep-alive; ms)"
python3 "$HERE/events_query.py" --db "$DATA/sockpit.sqlite" --port "${PORT[sockpit]}" --pid "${PID[sockpit]}" \
    --log "$TMP/sockpit.err" --repeat "$REPEAT"
grep -E 'level=(warning|error|critical)' "$TMP/sockpit.err" | head -n 5 >&2 || true
