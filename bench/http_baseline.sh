#!/usr/bin/env bash
# HTTP throughput of Sockpit's GET /v1/health against a minimal C libmicrohttpd server configured with the
# same daemon flags and options (bench/baseline_server.c). Rounds alternate between the servers so that
# drift on the machine (thermal, other load) hits both sides alike. See bench/README.md.
#
# Environment (all optional):
#   SOCKPIT_BIN=/path       use this sockpit binary instead of building (`swift build -c release`)
#   BENCH_DURATION=5s       length of each measured wrk run (wrk -d syntax: 5s, 1m)
#   BENCH_ROUNDS=3          measured rounds per server
#   BENCH_WARMUP=2s         unrecorded wrk run against each server first
#   BENCH_THREADS=2         wrk -t
#   BENCH_CONNECTIONS=50    wrk -c
#   BENCH_QUIET_PASS=1      also measure sockpit with --log-level warning (no access log), reported separately;
#                           0 measures only the product as shipped (info level)
#   BENCH_TARGET=0.7        required ratio sockpit/baseline of the median requests/s
#   BENCH_STRICT=0          1: exit 3 when the target is missed
# Exit status: 0 measured (target met or not, unless BENCH_STRICT=1), 1 setup failure or wrk saw errors
# (non-2xx responses or socket errors: the figures are then not valid), 3 target missed with BENCH_STRICT=1.
set -euo pipefail

DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-2s}
WRK_THREADS=${BENCH_THREADS:-2}
WRK_CONNECTIONS=${BENCH_CONNECTIONS:-50}
QUIET_PASS=${BENCH_QUIET_PASS:-1}
TARGET=${BENCH_TARGET:-0.7}
STRICT=${BENCH_STRICT:-0}
PATH_UNDER_TEST=/v1/health

BENCH_NAME=http_baseline
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_wrk_timing
need_tools wrk curl cc pkg-config timeout ss pc:libmicrohttpd

# -------------------------------------------------------------------------------------- temp + cleanup
make_tmp sockpit-bench

# ----------------------------------------------------------------------------------------------- build
echo "building bench/baseline_server.c" >&2
build_baseline
sockpit_binary

# ------------------------------------------------------------------------------------------- servers
TARGETS=()
# name label command...: start_server (lib.sh), then the server is one of the TARGETS measured.
start_target() { start_server "$@"; TARGETS+=("$1"); }

mkdir -p "$TMP/data-info" "$TMP/data-quiet"
start_target baseline "C baseline" "$TMP/baseline_server" @PORT@
start_target sockpit "sockpit (info)" "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/data-info"
if [[ $QUIET_PASS == 1 ]]; then
    start_target sockpit_quiet "sockpit (warning)" "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ \
        --data-dir "$TMP/data-quiet" --log-level warning
fi

# ------------------------------------------------------------------------------------- sanity checks
echo
echo "== Sockpit HTTP baseline: GET $PATH_UNDER_TEST, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -srm)"
echo "   wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION --latency, $ROUNDS rounds per server, alternating"
echo "   libmicrohttpd $(pkg-config --modversion libmicrohttpd), sockpit binary: $SOCKPIT_BIN"
echo "   load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures:" \
     "see 'other cores' per round)"
for name in "${TARGETS[@]}"; do
    url="http://127.0.0.1:${PORT[$name]}$PATH_UNDER_TEST"
    # Two requests on one curl: the second must reuse the connection (keep-alive works).
    info=$(curl -s -o /dev/null -o /dev/null -w '%{http_code} %{size_download} %{num_connects} %{content_type}\n' "$url" "$url")
    read -r code1 size1 _ ctype1 < <(sed -n 1p <<<"$info")
    read -r code2 _ conn2 _ < <(sed -n 2p <<<"$info")
    keep=yes
    [[ $conn2 == 0 ]] || keep="NO (second request opened a new connection)"
    printf '   %-18s port %-5s status %s/%s  body %s bytes  %s  keep-alive %s\n' \
        "${LABEL[$name]}" "${PORT[$name]}" "$code1" "$code2" "$size1" "$ctype1" "$keep"
done

# -------------------------------------------------------------------------------- measurement helpers
# name duration outfile: one wrk run; prints nothing, leaves wrk's report in outfile.
run_wrk() {
    local name=$1 duration=$2 out=$3 secs
    secs=$(seconds_of "$duration")
    timeout --kill-after=5 $((secs + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$duration" --timeout 5s \
        --latency "http://127.0.0.1:${PORT[$name]}$PATH_UNDER_TEST" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk against ${LABEL[$name]} failed"; }
}

# --------------------------------------------------------------------------------------------- warm-up
if ((WARMUP_S > 0)); then
    for name in "${TARGETS[@]}"; do run_wrk "$name" "$WARMUP" "$TMP/warmup-$name.txt"; done
fi

# ------------------------------------------------------------------------------------------ measuring
echo
printf '%-5s %-18s %10s %9s %9s %7s %7s %9s %7s %9s %11s\n' \
    round server "req/s" "p50 ms" "p99 ms" non2xx sockerr "srv cores" "µs/req" "wrk cores" "other cores"
ERRORS=0
OTHER_MAX=0
declare -A RPS=() P99=() P50=() SRV_US=()
for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate the order every round so that no server always runs first or last.
    n=${#TARGETS[@]}
    for ((k = 0; k < n; k++)); do
        name=${TARGETS[$(((k + round - 1) % n))]}
        out="$TMP/wrk-$name-$round.txt"
        cpu_before "${PID[$name]}"
        run_wrk "$name" "$DURATION" "$out"
        cpu_after "${PID[$name]}" "$name"
        kill -0 "${PID[$name]}" 2>/dev/null || die "${LABEL[$name]} died during round $round (see its stderr)"

        wrk_figures "$out"
        ((non2xx + sockerr == 0)) || ERRORS=$((ERRORS + non2xx + sockerr))

        srv_cores=$(cores $((srv1 - srv0)) "$DURATION_S")
        cli_cores=$(cores $((cli1 - cli0)) "$DURATION_S")
        other=$((all1 - all0 - (srv1 - srv0) - (cli1 - cli0)))
        other_cores=$(cores $((other > 0 ? other : 0)) "$DURATION_S")
        us_req=$(us_per $((srv1 - srv0)) "$total")

        note_other "$other_cores"
        RPS[$name]+="$rps "
        P50[$name]+="$p50 "
        P99[$name]+="$p99 "
        SRV_US[$name]+="$us_req "
        printf '%-5s %-18s %10.0f %9s %9s %7s %7s %9s %7s %9s %11s\n' "$round" "${LABEL[$name]}" "$rps" "$p50" "$p99" \
            "$non2xx" "$sockerr" "$srv_cores" "$us_req" "$cli_cores" "$other_cores"
    done
done

echo "(srv cores: server CPU / wall time; µs/req: server CPU per request; wrk cores: the load generator;" \
     "other cores: the rest of the machine, interrupts included - near 0 on a quiet machine)"

# -------------------------------------------------------------------------------------------- summary
base_rps=$(med "${RPS[baseline]}")
base_us=$(med "${SRV_US[baseline]}")
echo
echo "== Medians over $ROUNDS rounds (target: sockpit >= ${TARGET}x baseline requests/s)"
printf '%-18s %10s %9s %9s %7s %8s  %s\n' server "req/s" "p50 ms" "p99 ms" "µs/req" "CPU x" "req/s ratio to baseline"
VERDICT=0
for name in "${TARGETS[@]}"; do
    rps=$(med "${RPS[$name]}")
    ratio=$(awk -v a="$rps" -v b="$base_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    if [[ $name == baseline ]]; then
        note="1.00 (reference)"
    else
        if awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r >= t) }'; then
            note="$ratio  target ${TARGET}x met"
        else
            note="$ratio  target ${TARGET}x MISSED"
            [[ $name == sockpit ]] && VERDICT=3
        fi
        [[ $name == sockpit_quiet ]] && note+=" (informative: not the shipped default)"
    fi
    us=$(med "${SRV_US[$name]}")
    cpu_x=$(awk -v a="$us" -v b="$base_us" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
    printf '%-18s %10.0f %9s %9s %7s %8s  %s\n' "${LABEL[$name]}" "$rps" "$(med "${P50[$name]}")" \
        "$(med "${P99[$name]}")" "$us" "$cpu_x" "$note"
done
echo "(CPU x: server CPU per request relative to the baseline; it hardly depends on other load on the machine)"
echo "wrk errors over all measured runs (non-2xx + socket errors): $ERRORS (must be 0)"
if other_busy; then
    echo "WARNING: other work on the machine used up to $OTHER_MAX cores during a run: req/s and the ratio are" \
         "skewed; rely on µs/req and CPU x, or rerun on a quiet machine"
fi

# CPU by thread name over the measured runs: where each server's time went.
echo
echo "== Server CPU by thread over all measured runs (CPU seconds, share of the process)"
for name in "${TARGETS[@]}"; do
    printf '%-18s%s\n' "${LABEL[$name]}" "$(cpu_split "$name")"
done
echo "(sockpit (info) access log: $(wc -l <"$TMP/sockpit.err") lines on stderr)"

if ((ERRORS > 0)); then
    echo "http_baseline: wrk reported $ERRORS errors: the figures are not valid" >&2
    exit 1
fi
if [[ $STRICT == 1 && $VERDICT != 0 ]]; then exit "$VERDICT"; fi
exit 0
