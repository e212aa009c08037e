#!/usr/bin/env bash
# The dashboard under a big history and a steady load (issue 16), in headless Chromium (Debian's chromium and
# chromium-driver, selenium from PyPI). A fresh database is filled with BENCH_EVENTS events and BENCH_SOCKETS
# closed sockets (bench/events_fill.py); then bench/dashboard.py measures each view's first render (navigation
# start to the view drawn, target < 1000 ms), and, with the sockets table open, BENCH_RATE events/s for
# BENCH_SECONDS s made through the API (UDP sockets created, sent on and closed): the table must equal the API's
# first page at the end, no main-thread task may pass 200 ms (PerformanceObserver longtask), the DOM must stay
# bounded. Baseline in the same run: the API's own answer times for the requests a first render makes. Only
# 127.0.0.1 traffic; temp dir removed.
#   SOCKPIT_BIN=/path      the binary (default: swift build -c release --scratch-path .build-bench)
#   BENCH_EVENTS=1000000   BENCH_SOCKETS=10000   BENCH_RATE=500   BENCH_SECONDS=60
set -euo pipefail
BENCH_NAME=dashboard
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
EVENTS=${BENCH_EVENTS:-1000000}
SOCKETS=${BENCH_SOCKETS:-10000}
RATE=${BENCH_RATE:-500}
SECONDS_=${BENCH_SECONDS:-60}
for v in EVENTS SOCKETS RATE SECONDS_; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_${v%_} must be a positive integer"; done
need_tools curl python3 ss chromium chromedriver
sockpit_binary --scratch-path "$REPO/.build-bench"
make_tmp sockpit-dashboard
private_binary
filled_history "$EVENTS" "$SOCKETS"
start_server sockpit sockpit "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$DATA" --log-level warning \
    --retention-days 0 --retention-max-events 0 --max-open-sockets 4096
echo "== the dashboard with $EVENTS events and $SOCKETS sockets in history (sockpit built $BUILT, $(nproc) cores)"
python3 "$HERE/dashboard.py" "http://127.0.0.1:${PORT[sockpit]}" "$RATE" "$SECONDS_"
