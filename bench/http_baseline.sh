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

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

die() { echo "http_baseline: $*" >&2; exit 1; }

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive integer, not '$ROUNDS'"
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_DURATION must look like 5s or 1m, not '$DURATION'"
[[ $WARMUP =~ ^[0-9]+[smh]?$ ]] || die "BENCH_WARMUP must look like 2s (0 skips it), not '$WARMUP'"

# Seconds in a wrk duration (5s, 1m, 1h, 30).
seconds_of() {
    local v=$1
    case $v in
        *s) echo "${v%s}" ;;
        *m) echo $(( ${v%m} * 60 )) ;;
        *h) echo $(( ${v%h} * 3600 )) ;;
        *) echo "$v" ;;
    esac
}
DURATION_S=$(seconds_of "$DURATION")
WARMUP_S=$(seconds_of "$WARMUP")

# ---------------------------------------------------------------------------------------------- tools
need_tools() {
    local missing=() tool pkg
    for tool in wrk curl cc pkg-config timeout ss; do
        command -v "$tool" >/dev/null 2>&1 && continue
        case $tool in
            cc) pkg=gcc ;; timeout) pkg=coreutils ;; ss) pkg=iproute2 ;; *) pkg=$tool ;;
        esac
        missing+=("$pkg")
    done
    pkg-config --exists libmicrohttpd 2>/dev/null || missing+=(libmicrohttpd-dev)
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "installing: ${missing[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
            || die "cannot install ${missing[*]}"
    else
        die "missing: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})"
    fi
}
need_tools

# -------------------------------------------------------------------------------------- temp + cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sockpit-bench.XXXXXXXXXX")
declare -A PID=()

stop_pid() { # pid: SIGTERM, up to 15 s for a graceful stop, then SIGKILL
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local name
    trap - EXIT INT TERM
    for name in "${!PID[@]}"; do stop_pid "${PID[$name]}"; done
    [[ -n ${BENCH_KEEP_TMP:-} ]] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ----------------------------------------------------------------------------------------------- build
echo "building bench/baseline_server.c" >&2
# shellcheck disable=SC2046
cc -O2 -Wall -o "$TMP/baseline_server" "$HERE/baseline_server.c" $(pkg-config --cflags --libs libmicrohttpd) \
    || die "cannot build bench/baseline_server.c"

if [[ -n ${SOCKPIT_BIN:-} ]]; then
    [[ -x $SOCKPIT_BIN ]] || die "SOCKPIT_BIN=$SOCKPIT_BIN is not an executable"
else
    command -v swift >/dev/null || die "swift not found (or set SOCKPIT_BIN=/path/to/sockpit)"
    echo "building sockpit: swift build -c release (set SOCKPIT_BIN to skip)" >&2
    (cd "$REPO" && swift build -c release >&2) || die "swift build -c release failed"
    SOCKPIT_BIN="$(cd "$REPO" && swift build -c release --show-bin-path)/sockpit"
    [[ -x $SOCKPIT_BIN ]] || die "no sockpit binary at $SOCKPIT_BIN"
fi

# ------------------------------------------------------------------------------------------- servers
# A free loopback port: random in 20000-59999, not currently listened on. Races are caught at start-up.
free_port() {
    local port i
    for ((i = 0; i < 50; i++)); do
        port=$((20000 + RANDOM % 40000))
        ss -Hltn "sport = :$port" 2>/dev/null | grep -q . || { echo "$port"; return 0; }
    done
    die "no free port found"
}

declare -A PORT=() LABEL=()
TARGETS=()

# name label command...: starts a server on a fresh port and waits until /v1/health answers 200.
start_server() {
    local name=$1 label=$2 attempt port i code
    shift 2
    for ((attempt = 0; attempt < 3; attempt++)); do
        port=$(free_port)
        local cmd=("${@//@PORT@/$port}")
        "${cmd[@]}" >"$TMP/$name.out" 2>"$TMP/$name.err" &
        PID[$name]=$!
        for ((i = 0; i < 200; i++)); do # up to 20 s (sockpit opens and migrates its database first)
            kill -0 "${PID[$name]}" 2>/dev/null || break
            code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port$PATH_UNDER_TEST" || true)
            if [[ $code == 200 ]]; then
                PORT[$name]=$port
                LABEL[$name]=$label
                TARGETS+=("$name")
                return 0
            fi
            sleep 0.1
        done
        stop_pid "${PID[$name]}"
        unset "PID[$name]"
    done
    echo "--- $name stderr (last lines):" >&2
    tail -n 20 "$TMP/$name.err" >&2 || true
    die "$label did not answer GET $PATH_UNDER_TEST with 200"
}

mkdir -p "$TMP/data-info" "$TMP/data-quiet"
start_server baseline "C baseline" "$TMP/baseline_server" @PORT@
start_server sockpit "sockpit (info)" "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/data-info"
if [[ $QUIET_PASS == 1 ]]; then
    start_server sockpit_quiet "sockpit (warning)" "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ \
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
CLK_TCK=$(getconf CLK_TCK)

# Total CPU ticks (user+system) of a process, all threads.
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# CPU ticks the whole machine spent busy (user, nice, system, irq, softirq, steal), all cores.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# CPU ticks of the children this shell has waited for (wrk and timeout).
child_ticks() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }

# "tid name ticks" for every thread of a process (user+system CPU ticks).
thread_ticks() {
    cat /proc/"$1"/task/*/stat 2>/dev/null \
        | awk '{ tid = $1; match($0, /\(.*\)/); comm = substr($0, RSTART + 1, RLENGTH - 2); gsub(/ /, "_", comm);
                 sub(/^.*\) /, ""); print tid, comm, $12 + $13 }'
}

# before-file after-file process-ticks: "name ticks" per thread name for one run. Threads that ended during
# the run (Swift's pool threads come and go) are not listed any more: their share is the rest of the
# process's own delta, reported as "ended-threads". libdispatch names its Swift task threads
# com.apple.root.*-qos (the kernel keeps 15 characters): shown as "swift-tasks".
thread_split() {
    awk -v total="$3" '
        FNR == NR { before[$1] = $3; next }
        { d = ($1 in before) ? $3 - before[$1] : $3; name = $2 ~ /qos$/ ? "swift-tasks" : $2; s[name] += d; known += d }
        END { for (k in s) print k, s[k]; if (total > known) print "ended-threads", total - known }' "$1" "$2"
}

# Latency value from wrk ("353.00us", "1.20ms", "2.00s") in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else printf "nan" }'
}

median() { # numbers on stdin
    sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
                                        else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

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
declare -A RPS=() P99=() P50=() SRV_US=()
for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate the order every round so that no server always runs first or last.
    n=${#TARGETS[@]}
    for ((k = 0; k < n; k++)); do
        name=${TARGETS[$(((k + round - 1) % n))]}
        out="$TMP/wrk-$name-$round.txt"
        thread_ticks "${PID[$name]}" >"$TMP/threads.before"
        srv0=$(proc_ticks "${PID[$name]}")
        cli0=$(child_ticks)
        all0=$(machine_ticks)
        run_wrk "$name" "$DURATION" "$out"
        all1=$(machine_ticks)
        cli1=$(child_ticks)
        srv1=$(proc_ticks "${PID[$name]}")
        thread_ticks "${PID[$name]}" >"$TMP/threads.after"
        thread_split "$TMP/threads.before" "$TMP/threads.after" $((srv1 - srv0)) >>"$TMP/cpu-$name.txt"
        kill -0 "${PID[$name]}" 2>/dev/null || die "${LABEL[$name]} died during round $round (see its stderr)"

        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
        total=$(awk '/ requests in / { print $1 }' "$out")
        p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
        non2xx=${non2xx:-0}
        sockerr=$(awk -F'[ ,]+' '/Socket errors:/ { print $4 + $6 + $8 + $10 }' "$out")
        sockerr=${sockerr:-0}
        [[ -n $rps && -n $total ]] || { cat "$out" >&2; die "cannot read wrk's report"; }
        ((non2xx + sockerr == 0)) || ERRORS=$((ERRORS + non2xx + sockerr))

        srv_cores=$(awk -v t=$((srv1 - srv0)) -v hz="$CLK_TCK" -v d="$DURATION_S" 'BEGIN { printf "%.2f", t / hz / d }')
        cli_cores=$(awk -v t=$((cli1 - cli0)) -v hz="$CLK_TCK" -v d="$DURATION_S" 'BEGIN { printf "%.2f", t / hz / d }')
        other_cores=$(awk -v t=$((all1 - all0 - (srv1 - srv0) - (cli1 - cli0))) -v hz="$CLK_TCK" -v d="$DURATION_S" \
            'BEGIN { printf "%.2f", (t > 0 ? t : 0) / hz / d }')
        us_req=$(awk -v t=$((srv1 - srv0)) -v hz="$CLK_TCK" -v n="$total" 'BEGIN { printf "%.1f", n ? t / hz / n * 1e6 : 0 }')

        OTHER_MAX=$(awk -v a="${OTHER_MAX:-0}" -v b="$other_cores" 'BEGIN { print (b > a ? b : a) }')
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
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
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
if awk -v m="$OTHER_MAX" 'BEGIN { exit !(m > 0.25) }'; then
    echo "WARNING: other work on the machine used up to $OTHER_MAX cores during a run: req/s and the ratio are" \
         "skewed; rely on µs/req and CPU x, or rerun on a quiet machine"
fi

# CPU by thread name over the measured runs: where each server's time went.
echo
echo "== Server CPU by thread over all measured runs (CPU seconds, share of the process)"
for name in "${TARGETS[@]}"; do
    split=$(awk -v hz="$CLK_TCK" '{ s[$1] += $2; t += $2 }
                END { for (k in s) if (s[k] > 0) printf "%.2f %s %.0f\n", s[k] / hz, k, 100 * s[k] / t }' \
                "$TMP/cpu-$name.txt" | sort -gr | awk '{ printf "  %s %.2f s (%s%%)", $2, $1, $3 }')
    printf '%-18s%s\n' "${LABEL[$name]}" "$split"
done
echo "(sockpit (info) access log: $(wc -l <"$TMP/sockpit.err") lines on stderr)"

if ((ERRORS > 0)); then
    echo "http_baseline: wrk reported $ERRORS errors: the figures are not valid" >&2
    exit 1
fi
if [[ $STRICT == 1 && $VERDICT != 0 ]]; then exit "$VERDICT"; fi
exit 0
