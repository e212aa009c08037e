#!/usr/bin/env bash
# Probes per second, Sockpit against prometheus-blackbox-exporter (Debian), in one run (see bench/README.md,
# "Probe rate"): single-port TCP connects to a local echo server and one-echo ICMP probes of 127.0.0.1, each
# driven by wrk with the same threads and connections against both: sockpit's POST /v1/probes (every probe
# stored, with its events) and blackbox_exporter's GET /probe (nothing stored). Rounds alternate the sides.
# Only 127.0.0.1 is probed. Every wrk run is bounded with timeout; an EXIT trap stops the servers.
#
# Environment (all optional):
#   SOCKPIT_BIN=/path          use this sockpit binary instead of building
#   BENCH_DURATION=5s          each measured wrk run
#   BENCH_ROUNDS=3             rounds per figure
#   BENCH_WORKERS=8            wrk -t and -c
#   BENCH_TARGET_RATIO=1.0     sockpit probes/s ÷ blackbox_exporter's, per figure
#   BENCH_STRICT=0             1: exit 3 when a target is missed
set -euo pipefail

DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
WORKERS=${BENCH_WORKERS:-8}
TARGET=${BENCH_TARGET_RATIO:-1.0}
STRICT=${BENCH_STRICT:-0}

BENCH_NAME=probe_rate
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tools wrk curl cc timeout ss prometheus-blackbox-exporter
make_tmp sockpit-probe-rate
sockpit_binary --scratch-path .build-bench
start_echo_server

mkdir -p "$TMP/data"
start_server sockpit "sockpit" "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/data" --log-level warning

cat >"$TMP/blackbox.yml" <<'YML'
modules:
  tcp_connect:
    prober: tcp
    timeout: 1s
  icmp:
    prober: icmp
    timeout: 1s
    icmp:
      preferred_ip_protocol: ip4
YML
BB_PORT=$(free_port)
prometheus-blackbox-exporter --config.file="$TMP/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" \
    --log.level=warn >"$TMP/blackbox.out" 2>"$TMP/blackbox.err" &
PID[blackbox]=$!
for ((i = 0; i < 100; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$BB_PORT/-/healthy" && break
    sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$BB_PORT/-/healthy" || { cat "$TMP/blackbox.err" >&2; die "blackbox_exporter did not start"; }

SP="http://127.0.0.1:${PORT[sockpit]}"
BB="http://127.0.0.1:$BB_PORT"
TCP_BODY="{\"kind\":\"tcp\",\"target\":\"127.0.0.1\",\"ports\":$ECHO_PORT,\"timeout_ms\":1000}"
ICMP_BODY='{"kind":"icmp","target":"127.0.0.1","count":1,"timeout_ms":1000}'

# Both sides must succeed before anything is measured.
for body in "$TCP_BODY" "$ICMP_BODY"; do
    curl -s -m 5 -H 'Content-Type: application/json' -d "$body" "$SP/v1/probes" | grep -q '"outcome" : "success"' \
        || die "sockpit probe did not succeed: $body"
done
curl -s -m 5 "$BB/probe?target=127.0.0.1:$ECHO_PORT&module=tcp_connect" | grep -qx 'probe_success 1' || die "blackbox tcp_connect did not succeed"
curl -s -m 5 "$BB/probe?target=127.0.0.1&module=icmp" | grep -qx 'probe_success 1' || die "blackbox icmp did not succeed"

SECS=$(seconds_of "$DURATION")
# side figure round -> prints requests/s (and dies on errors)
run() {
    local side=$1 figure=$2 out="$TMP/wrk-$1-$2-$3.txt" args=(-t"$WORKERS" -c"$WORKERS" -d"$DURATION" --timeout 5s)
    if [[ $side == sockpit ]]; then
        local body=$TCP_BODY
        [[ $figure == icmp ]] && body=$ICMP_BODY
        args+=(-s "$HERE/probe_load.lua" "$SP/v1/probes" -- "$body")
    else
        local query="target=127.0.0.1:$ECHO_PORT&module=tcp_connect"
        [[ $figure == icmp ]] && query="target=127.0.0.1&module=icmp"
        args+=("$BB/probe?$query")
    fi
    timeout --kill-after=5 $((SECS + 30)) wrk "${args[@]}" >"$out" 2>&1 || { cat "$out" >&2; die "wrk $side $figure failed"; }
    if grep -q 'Non-2xx\|Socket errors' "$out" || grep -q '^probe other [1-9]' "$out"; then
        cat "$out" >&2; die "errors during $side $figure"
    fi
    awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out"
}

declare -A RATE=()
echo "== Probe rate, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores: wrk -t$WORKERS -c$WORKERS -d$DURATION, $ROUNDS rounds"
echo "   sockpit $SOCKPIT_BIN (POST /v1/probes, each stored); $(prometheus-blackbox-exporter --version 2>&1 | head -1)"
printf '%-6s %-6s %12s %14s\n' round figure "sockpit/s" "blackbox/s"
for figure in tcp icmp; do
    for ((round = 1; round <= ROUNDS; round++)); do
        if ((round % 2)); then a=$(run sockpit "$figure" "$round"); b=$(run blackbox "$figure" "$round")
        else b=$(run blackbox "$figure" "$round"); a=$(run sockpit "$figure" "$round"); fi
        RATE[sockpit_$figure]+="$a "; RATE[blackbox_$figure]+="$b "
        printf '%-6s %-6s %12s %14s\n' "$round" "$figure" "$a" "$b"
    done
done
MISSED=0
echo
printf '%-40s %-22s %-10s %s\n' figure "sockpit / blackbox" target verdict
for figure in tcp icmp; do
    a=$(med "${RATE[sockpit_$figure]}"); b=$(med "${RATE[blackbox_$figure]}")
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    ok=$(awk -v r="$ratio" -v t="$TARGET" 'BEGIN { if (r >= t) print "met"; else print "MISSED" }')
    [[ $ok == met ]] || MISSED=1
    printf '%-40s %-22s %-10s %s\n' "$figure probes/s (medians)" "$a / $b = ${ratio}x" ">= ${TARGET}x" "$ok"
done
if [[ $STRICT == 1 && $MISSED == 1 ]]; then exit 3; fi
exit 0
