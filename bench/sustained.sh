#!/usr/bin/env bash
# Disk under sustained load (see bench/README.md, "Sustained load"): a release sockpit takes
#   1. single-port TCP probes of 127.0.0.1 at the highest rate it answers (wrk + bench/probe_load.lua), then
#   2. full socket lifecycles (wrk + bench/lifecycle.lua against bench/echo_server.c),
# each for BENCH_PHASE (10 minutes by default), while the WAL and database files are sampled every
# BENCH_SAMPLE_S seconds. Every sample is printed: the WAL must stay under BENCH_TARGET_WAL_MB at each one, and
# the database grows in proportion to the history kept (bytes per event, printed per sample).
# Only 127.0.0.1 traffic. Every wrk run is bounded with timeout; an EXIT trap stops the servers and removes the
# temp directory.
#
# Environment (all optional):
#   SOCKPIT_BIN=/path          use this sockpit binary instead of building
#   BENCH_PHASE=10m            length of each phase (wrk -d syntax)
#   BENCH_SAMPLE_S=10          seconds between samples
#   BENCH_WORKERS=8            wrk -t and -c of each phase
#   BENCH_TARGET_WAL_MB=64     most WAL bytes allowed at any sample, in MiB
#   BENCH_STRICT=0             1: exit 3 when a target is missed
#   BENCH_KEEP_TMP=            non-empty: keep the temp dir
#   BENCH_SERVE_ARGS=          more `sockpit serve` flags, e.g. "--retention-max-events 300000" to reach a
#                              retention pass sooner
set -euo pipefail

PHASE=${BENCH_PHASE:-10m}
SAMPLE_S=${BENCH_SAMPLE_S:-10}
WORKERS=${BENCH_WORKERS:-8}
TARGET_WAL_MB=${BENCH_TARGET_WAL_MB:-64}
STRICT=${BENCH_STRICT:-0}

BENCH_NAME=sustained
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tools wrk curl cc sqlite3 timeout ss
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
make_tmp sockpit-sustained
sockpit_binary --scratch-path .build-bench
start_echo_server

mkdir -p "$TMP/data"
start_server sockpit "sockpit" "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/data" --log-level warning \
    ${BENCH_SERVE_ARGS:-}
DB="$TMP/data/sockpit.sqlite"
SECS=$(seconds_of "$PHASE")
WAL_MAX=0
MISSED=0

size() { stat -c %s "$1" 2>/dev/null || echo 0; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
events() { sqlite3 "$DB" "SELECT coalesce(max(id), 0) FROM events" 2>/dev/null || echo 0; }

# phase NAME LUA ARG: one wrk run of PHASE, sampled every SAMPLE_S seconds.
phase() {
    local name=$1 lua=$2 arg=$3 out="$TMP/wrk-$1.txt" start now wal db ev ev0 t0 rate
    echo
    echo "== $name: wrk -t$WORKERS -c$WORKERS -d$PHASE -s bench/$(basename "$lua"), samples every ${SAMPLE_S} s"
    printf '%8s %10s %10s %12s %10s %12s\n' "t s" "WAL MB" "db MB" "last id" "events/s" "db B/id"
    timeout --kill-after=5 $((SECS + 60)) wrk -t"$WORKERS" -c"$WORKERS" -d"$PHASE" --timeout 5s -s "$lua" \
        "http://127.0.0.1:${PORT[sockpit]}/" -- "$arg" >"$out" 2>&1 &
    local wrk_pid=$!
    start=$(date +%s)
    ev0=$(events); t0=$start
    while kill -0 "$wrk_pid" 2>/dev/null; do
        sleep "$SAMPLE_S"
        now=$(date +%s)
        wal=$(size "$DB-wal"); db=$(size "$DB"); ev=$(events)
        rate=$(awk -v a="$ev" -v b="$ev0" -v t="$((now - t0))" 'BEGIN { printf "%.0f", (t > 0 ? (a - b) / t : 0) }')
        ev0=$ev; t0=$now
        ((wal > WAL_MAX)) && WAL_MAX=$wal
        printf '%8s %10s %10s %12s %10s %12s\n' "$((now - start))" "$(mb "$wal")" "$(mb "$db")" "$ev" "$rate" \
            "$(awk -v d="$db" -v e="$ev" 'BEGIN { printf "%.0f", (e > 0 ? d / e : 0) }')"
        kill -0 "${PID[sockpit]}" 2>/dev/null || die "sockpit died during $name"
    done
    wait "$wrk_pid" || { cat "$out" >&2; die "wrk ($name) failed"; }
    grep -E 'Requests/sec|Non-2xx|Socket errors|^(probe|lifecycle) (ok|other|lifecycles|unexpected) ' "$out" | sed 's/^/   /'
}

echo "== Sockpit sustained load, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, binary $SOCKPIT_BIN"
phase "1. single-port TCP probes of 127.0.0.1:$ECHO_PORT (open)" "$HERE/probe_load.lua" \
    "{\"kind\":\"tcp\",\"target\":\"127.0.0.1\",\"ports\":$ECHO_PORT,\"timeout_ms\":1000}"
phase "2. socket lifecycles (create, connect, send 64 B, receive, close)" "$HERE/lifecycle.lua" "$ECHO_PORT"

echo
echo "== After the load (5 s idle)"
sleep 5
printf 'WAL %s MB, database %s MB, %s events, %s probes, %s sockets\n' "$(mb "$(size "$DB-wal")")" "$(mb "$(size "$DB")")" \
    "$(events)" "$(sqlite3 "$DB" 'SELECT count(*) FROM probes')" "$(sqlite3 "$DB" 'SELECT count(*) FROM sockets')"
verdict=met
(($(awk -v w="$WAL_MAX" -v t="$TARGET_WAL_MB" 'BEGIN { print (w < t * 1048576) }'))) || { verdict=MISSED; MISSED=1; }
printf '%-40s %-12s %-12s %s\n' "figure" "measured" "target" "verdict"
printf '%-40s %-12s %-12s %s\n' "largest WAL at any sample" "$(mb "$WAL_MAX") MB" "< $TARGET_WAL_MB MB" "$verdict"
if [[ $STRICT == 1 && $MISSED == 1 ]]; then exit 3; fi
exit 0
