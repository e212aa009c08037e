#!/usr/bin/env bash
# Live-event fan-out (target: 100 SSE subscribers each receive every event within 20 ms p99), and read-after-
# write visibility (a written event is visible to readers within 50 ms). For each run a fresh sockpit (default
# log level), SUBSCRIBERS connections on GET /v1/events/stream, and a driver making RATE socket operations per
# second for SECONDS (POST /v1/sockets + DELETE, inet dgram: one create and one close event each), all in one
# single-threaded epoll client (bench/sse_fanout.c) that stamps request sends and frame receipts with the same
# CLOCK_MONOTONIC. After each 201 the driver GETs /v1/events?socket_id=ID at once and checks the create event
# is there. The named baseline is the same run with 1 subscriber. Prints latency p50/p99/max over all
# (subscriber, event) pairs, missing/duplicate/out-of-order events against the server's database, server CPU,
# and the client's own CPU and longest epoll batch (so that its share of the latency is visible). Each run
# ends with SIGTERM to the server while every stream is open: each stream must get its end event and close.
# Only 127.0.0.1 traffic; temp dir removed.
#   SOCKPIT_BIN=/path   the binary (default: swift build -c release --scratch-path .build-bench)
#   BENCH_SUBSCRIBERS=100  BENCH_RATE=200 (operations/s)  BENCH_SECONDS=10  BENCH_WARMUP=0.5 (s left out of latency)
#   BENCH_ROUNDS=1      rounds of (baseline, SUBSCRIBERS), each on fresh servers
set -euo pipefail
BENCH_NAME=sse_fanout
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SUBSCRIBERS=${BENCH_SUBSCRIBERS:-100}
RATE=${BENCH_RATE:-200}
SECONDS_=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-0.5}
ROUNDS=${BENCH_ROUNDS:-1}
for v in SUBSCRIBERS RATE SECONDS_ ROUNDS; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_${v%_} must be a positive integer"; done
[[ $WARMUP =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "BENCH_WARMUP must be a number of seconds"
need_tools cc curl python3 ss timeout
sockpit_binary --scratch-path "$REPO/.build-bench"
make_tmp sockpit-sse
private_binary
cc -O2 -Wall -o "$TMP/sse_fanout" "$HERE/sse_fanout.c" || die "cannot build bench/sse_fanout.c"

# name subscribers: one run on a fresh server; leaves TMP/name.{kv,ops,recv,vis} and TMP/name/sockpit.sqlite.
one_run() {
    local name=$1 subs=$2
    start_server "$name" "sockpit" "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/$name" \
        --log-level info
    timeout $((SECONDS_ + 60)) "$TMP/sse_fanout" "${PORT[$name]}" "$subs" "$RATE" "$SECONDS_" "$TMP/$name" \
        "${PID[$name]}" >"$TMP/$name.kv" || die "sse_fanout failed for $name"
    # sse_fanout ends with SIGTERM to the server (graceful stop with every stream open): it should exit 0.
    local pid=${PID[$name]} i rc
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "  $name: sockpit still running 15 s after SIGTERM" >&2
        stop_pid "$pid"
    else
        rc=0
        wait "$pid" || rc=$?
        ((rc == 0)) || echo "  $name: sockpit exited with status $rc after SIGTERM" >&2
    fi
    unset "PID[$name]"
    # Anything but the access log and start/stop lines is worth a look (stream errors, warnings).
    grep -vE 'level=info|^$' "$TMP/$name.err" | sort | uniq -c | sort -rn | head -n 5 | sed "s/^/  $name stderr: /" >&2 || true
}

echo "== SSE fan-out: $RATE socket operations/s for $SECONDS_ s (create + close of UDP sockets), one event each;" \
    "sockpit built $BUILT, $(nproc) cores, info log level"
status=0
for ((round = 1; round <= ROUNDS; round++)); do
    ((ROUNDS == 1)) || echo "-- round $round"
    one_run "base$round" 1
    one_run "fan$round" "$SUBSCRIBERS"
    python3 "$HERE/sse_fanout_report.py" "$WARMUP" "$RATE" \
        "baseline 1 subscriber=$TMP/base$round:$TMP/base$round/sockpit.sqlite" \
        "sockpit $SUBSCRIBERS subscribers=$TMP/fan$round:$TMP/fan$round/sockpit.sqlite" || status=1
done
exit $status
