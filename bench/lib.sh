# Shell logic shared by bench/http_baseline.sh, bench/sockets_lifecycle.sh and bench/probes.sh; sourced, not run:
#   BENCH_NAME=http_baseline        # the prefix of die's messages
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It defines functions and sets HERE, REPO, CLK_TCK and the maps PID, PORT and LABEL; nothing runs until a script
# calls it. Some functions assign variables of the caller (named at each function): bash's scoping makes them the
# caller's locals when it declared them local, globals otherwise.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

# ------------------------------------------------------------------------------------------ settings
# Seconds in a wrk duration (5s, 1m, 1h, 30).
seconds_of() {
    local v=$1
    case $v in
        *s) echo "${v%s}" ;;
        *m) echo $((${v%m} * 60)) ;;
        *h) echo $((${v%h} * 3600)) ;;
        *) echo "$v" ;;
    esac
}

# Checks ROUNDS, DURATION and WARMUP (wrk -d syntax) and sets DURATION_S and WARMUP_S, their seconds.
check_wrk_timing() {
    [[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive integer, not '$ROUNDS'"
    [[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_DURATION must look like 5s or 1m, not '$DURATION'"
    [[ $WARMUP =~ ^[0-9]+[smh]?$ ]] || die "BENCH_WARMUP must look like 2s (0 skips it), not '$WARMUP'"
    DURATION_S=$(seconds_of "$DURATION")
    WARMUP_S=$(seconds_of "$WARMUP")
}

# ---------------------------------------------------------------------------------------------- tools
# tool...: dies unless every tool is on PATH; as root, installs the missing ones with apt-get first.
# pc:NAME stands for the pkg-config module NAME, from the package NAME-dev.
need_tools() {
    local missing=() tool pkg
    for tool in "$@"; do
        if [[ $tool == pc:* ]]; then
            pkg-config --exists "${tool#pc:}" 2>/dev/null && continue
            pkg=${tool#pc:}-dev
        else
            command -v "$tool" >/dev/null 2>&1 && continue
            case $tool in
                cc) pkg=gcc ;; ping) pkg=iputils-ping ;; timeout) pkg=coreutils ;; ss | ip) pkg=iproute2 ;;
                awk) pkg=gawk ;; *) pkg=$tool ;;
            esac
        fi
        [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
    done
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

# -------------------------------------------------------------------------------------- temp + cleanup
declare -A PID=() # name -> pid of every server started; the EXIT trap stops them

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

# prefix: makes the temp dir TMP and sets the traps: on exit the servers in PID stop and TMP goes
# (BENCH_KEEP_TMP keeps it).
make_tmp() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# ----------------------------------------------------------------------------------------------- build
# The C libmicrohttpd baseline (bench/baseline_server.c) into TMP/baseline_server.
build_baseline() {
    # shellcheck disable=SC2046
    cc -O2 -Wall -o "$TMP/baseline_server" "$HERE/baseline_server.c" $(pkg-config --cflags --libs libmicrohttpd) \
        || die "cannot build bench/baseline_server.c"
}

# The TCP echo peer (bench/echo_server.c), built into TMP and started on port 0: sets PID[echo] and ECHO_PORT
# (the port the kernel chose, which it prints).
start_echo_server() {
    local i
    cc -O2 -Wall -o "$TMP/echo_server" "$HERE/echo_server.c" || die "cannot build bench/echo_server.c"
    "$TMP/echo_server" 0 >"$TMP/echo.out" 2>"$TMP/echo.err" &
    PID[echo]=$!
    for ((i = 0; i < 50; i++)); do
        ECHO_PORT=$(awk '$1 == "port" { print $2 }' "$TMP/echo.out" 2>/dev/null)
        [[ -n $ECHO_PORT ]] && return 0
        kill -0 "${PID[echo]}" 2>/dev/null || { cat "$TMP/echo.err" >&2; die "echo_server did not start"; }
        sleep 0.1
    done
    die "echo_server printed no port"
}

# [swift build option...]: checks SOCKPIT_BIN, or builds sockpit with `swift build -c release OPTION...` and sets
# SOCKPIT_BIN to it.
sockpit_binary() {
    if [[ -n ${SOCKPIT_BIN:-} ]]; then
        [[ -x $SOCKPIT_BIN ]] || die "SOCKPIT_BIN=$SOCKPIT_BIN is not an executable"
        return 0
    fi
    local args=(-c release "$@")
    command -v swift >/dev/null || die "swift not found (or set SOCKPIT_BIN=/path/to/sockpit)"
    echo "building sockpit: swift build ${args[*]} (set SOCKPIT_BIN to skip)" >&2
    (cd "$REPO" && swift build "${args[@]}" >&2) || die "swift build -c release failed"
    SOCKPIT_BIN="$(cd "$REPO" && swift build "${args[@]}" --show-bin-path)/sockpit"
    [[ -x $SOCKPIT_BIN ]] || die "no sockpit binary at $SOCKPIT_BIN"
}

# After make_tmp: copies SOCKPIT_BIN into TMP and points SOCKPIT_BIN at the copy, so that every server of the run
# is the same build even if the build folder is rebuilt meanwhile; sets BUILT, the binary's build time.
private_binary() {
    cp "$SOCKPIT_BIN" "$TMP/sockpit" || die "cannot copy $SOCKPIT_BIN"
    BUILT=$(date -u -r "$SOCKPIT_BIN" '+%Y-%m-%d %H:%M UTC')
    SOCKPIT_BIN=$TMP/sockpit
}

# events sockets: a fresh data directory TMP/data with a migrated database filled with that many events and closed
# sockets (bench/events_fill.py); sets DATA. Synced, so that its writeback does not run during the measurement.
filled_history() {
    DATA="$TMP/data"
    "$SOCKPIT_BIN" migrate --data-dir "$DATA" >/dev/null 2>&1 || die "migrate failed"
    python3 "$HERE/events_fill.py" "$DATA/sockpit.sqlite" --events "$1" --sockets "$2" || die "fill failed"
    sync "$DATA/sockpit.sqlite" # the writeback of ~400 MB would otherwise keep a core busy at the start
}

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

# name label command...: starts an HTTP server on a fresh port (@PORT@ in the command) and waits until
# GET /v1/health answers 200; then PID[name], PORT[name] and LABEL[name] are set. Its stdout and stderr go to
# TMP/name.out and TMP/name.err. Three tries, each on another port.
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
            code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/v1/health" || true)
            if [[ $code == 200 ]]; then
                PORT[$name]=$port
                LABEL[$name]=$label
                return 0
            fi
            sleep 0.1
        done
        stop_pid "${PID[$name]}"
        unset "PID[$name]"
    done
    echo "--- $name stderr (last lines):" >&2
    tail -n 20 "$TMP/$name.err" >&2 || true
    die "$label did not answer GET /v1/health with 200"
}

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

# CPU counters around one wrk run, read in the same order every time. The reads run in this shell: their
# $(...) subshells are children of it too, so the order decides which of them count as the load generator's.
# cpu_before pid [pid2]: threads of pid into TMP/threads.before; sets srv0 (pid), echo0 (pid2, when given),
# cli0 (child_ticks), all0 (machine_ticks).
cpu_before() {
    thread_ticks "$1" >"$TMP/threads.before"
    srv0=$(proc_ticks "$1")
    (($# < 2)) || echo0=$(proc_ticks "$2")
    cli0=$(child_ticks)
    all0=$(machine_ticks)
}
# cpu_after pid key [pid2]: sets all1, cli1, echo1 (pid2, when given) and srv1, then appends the run's CPU by
# thread name (thread_split) to TMP/cpu-key.txt.
cpu_after() {
    all1=$(machine_ticks)
    cli1=$(child_ticks)
    (($# < 3)) || echo1=$(proc_ticks "$3")
    srv1=$(proc_ticks "$1")
    thread_ticks "$1" >"$TMP/threads.after"
    thread_split "$TMP/threads.before" "$TMP/threads.after" $((srv1 - srv0)) >>"$TMP/cpu-$2.txt"
}

# key: the server's CPU by thread name over the measured runs recorded in TMP/cpu-key.txt, on one line.
cpu_split() {
    awk -v hz="$CLK_TCK" '{ s[$1] += $2; t += $2 }
        END { for (k in s) if (s[k] > 0) printf "%.2f %s %.0f\n", s[k] / hz, k, 100 * s[k] / t }' "$TMP/cpu-$1.txt" \
        | sort -gr | awk '{ printf "  %s %.2f s (%s%%)", $2, $1, $3 }'
}

cores() { awk -v t="$1" -v hz="$CLK_TCK" -v d="$2" 'BEGIN { printf "%.2f", t / hz / d }'; } # ticks seconds
# ticks count [printf format]: microseconds of CPU per item (0 when count is 0).
us_per() { awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" -v f="${3:-%.1f}" 'BEGIN { printf f, n ? t / hz / n * 1e6 : 0 }'; }

# cores: OTHER_MAX becomes the highest "other cores" figure seen; other_busy succeeds when it is above 0.25.
note_other() { OTHER_MAX=$(awk -v a="${OTHER_MAX:-0}" -v b="$1" 'BEGIN { print (b > a ? b : a) }'); }
other_busy() { awk -v m="$OTHER_MAX" 'BEGIN { exit !(m > 0.25) }'; }

# Latency value from wrk ("353.00us", "1.20ms", "2.00s") in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else printf "nan" }'
}

# file: the figures of a wrk --latency report: sets rps, total (requests), p50 and p99 (ms), non2xx and
# sockerr (0 when wrk printed none); dies when the report has no rate or total.
wrk_figures() {
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$1")
    total=$(awk '/ requests in / { print $1 }' "$1")
    [[ -n $rps && -n $total ]] || { cat "$1" >&2; die "cannot read wrk's report"; }
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$1")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$1")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$1")
    non2xx=${non2xx:-0}
    sockerr=$(awk -F'[ ,]+' '/Socket errors:/ { print $4 + $6 + $8 + $10 }' "$1")
    sockerr=${sockerr:-0}
}

median() { # numbers on stdin
    sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
                                        else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
med() { tr ' ' '\n' <<<"$1" | grep . | median; } # the median of space-separated numbers
