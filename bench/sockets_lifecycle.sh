#!/usr/bin/env bash
# Sockpit's socket API under load, in one run (see bench/README.md, "Socket lifecycle benchmark"):
#   1. full lifecycles per second - create, connect to a local echo server, send 64 B, receive the echo,
#      close - from keep-alive workers (wrk + bench/lifecycle.lua), next to the C libmicrohttpd baseline
#      (bench/baseline_server.c) under the same wrk threads and connections;
#   2. the read path - GET /v1/sockets/{id} on an open and on a closed socket (served from SQLite history) -
#      against the same baseline, rounds alternating;
#   3. resident memory (VmRSS) of a fresh sockpit before and after opening sockets: created only, connected
#      to the echo server, socketpairs, and TCP pairs via listen/accept with both ends managed.
# Only 127.0.0.1 traffic. Every wrk and curl run is bounded with timeout; an EXIT trap stops the servers and
# removes the temp directory.
#
# Environment (all optional):
#   SOCKPIT_BIN=/path          use this sockpit binary instead of building
#                              (`swift build -c release --scratch-path .build-bench`)
#   SOCKPIT_BIN_BEFORE=/path   a second binary (e.g. main before a change), measured side by side in the
#                              same rounds: lifecycles/s and GET of an open socket, with the ratio new ÷ before
#   BENCH_TARGET_VS_BEFORE=0.8 required ratio of lifecycles/s, this binary ÷ SOCKPIT_BIN_BEFORE
#   BENCH_DURATION=5s          length of each measured wrk run (wrk -d syntax: 5s, 1m)
#   BENCH_ROUNDS=3             measured rounds per workload
#   BENCH_WARMUP=2s            unrecorded wrk run per workload first (0 skips it)
#   BENCH_WORKERS=8            lifecycle workers: wrk -t and -c (one connection per wrk thread, see lifecycle.lua)
#   BENCH_THREADS=2            read path: wrk -t
#   BENCH_CONNECTIONS=50       read path: wrk -c
#   BENCH_MEM_SOCKETS=1000     sockets per memory phase (even)
#   BENCH_MAX_OPEN_SOCKETS=8192  sockpit --max-open-sockets
#   BENCH_TARGET_LIFECYCLES=2000 lifecycles/s required
#   BENCH_TARGET_READ=0.5      required ratio GET open socket / baseline req/s
#   BENCH_TARGET_MEM_MB=10     most resident MB that 1,000 open sockets may add
#   BENCH_UNIQUE_PAYLOADS=0    1: every send carries a different payload (no two send bodies alike)
#   BENCH_STRICT=0             1: exit 3 when a target is missed
#   BENCH_KEEP_TMP=            non-empty: keep the temp dir (wrk reports, server logs)
# Exit status: 0 measured (targets met or not, unless BENCH_STRICT=1); 1 setup failure, or errors during the
# measured runs (non-2xx, socket errors, broken lifecycles: the figures are then not valid); 3 a target was
# missed with BENCH_STRICT=1.
set -euo pipefail

DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-2s}
WORKERS=${BENCH_WORKERS:-8}
READ_THREADS=${BENCH_THREADS:-2}
READ_CONNECTIONS=${BENCH_CONNECTIONS:-50}
MEM_SOCKETS=${BENCH_MEM_SOCKETS:-1000}
MAX_OPEN=${BENCH_MAX_OPEN_SOCKETS:-8192}
TARGET_LIFECYCLES=${BENCH_TARGET_LIFECYCLES:-2000}
TARGET_READ=${BENCH_TARGET_READ:-0.5}
TARGET_MEM_MB=${BENCH_TARGET_MEM_MB:-10}
STRICT=${BENCH_STRICT:-0}
BEFORE_BIN=${SOCKPIT_BIN_BEFORE:-}
TARGET_VS_BEFORE=${BENCH_TARGET_VS_BEFORE:-0.8}
UNIQUE=${BENCH_UNIQUE_PAYLOADS:-0}

BENCH_NAME=sockets_lifecycle
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LUA_SCRIPT="$HERE/lifecycle.lua"

check_wrk_timing
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "BENCH_WORKERS must be a positive integer, not '$WORKERS'"
[[ $MEM_SOCKETS =~ ^[1-9][0-9]*$ ]] && ((MEM_SOCKETS % 2 == 0)) || die "BENCH_MEM_SOCKETS must be a positive even integer"
((MAX_OPEN >= 4 * MEM_SOCKETS + 100)) || die "BENCH_MAX_OPEN_SOCKETS must be at least 4 x BENCH_MEM_SOCKETS + 100"
[[ -f $LUA_SCRIPT ]] || die "missing $LUA_SCRIPT"

need_tools wrk curl cc pkg-config timeout ss pc:libmicrohttpd
# Thousands of sockets are opened below: take the hard limit of open files (the servers inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# -------------------------------------------------------------------------------------- temp + cleanup
make_tmp sockpit-lifecycle

# ----------------------------------------------------------------------------------------------- build
echo "building bench/baseline_server.c and bench/echo_server.c" >&2
build_baseline
sockpit_binary --scratch-path .build-bench

# ------------------------------------------------------------------------------------------- servers
start_echo_server

mkdir -p "$TMP/data" "$TMP/data-mem" "$TMP/data-before"
start_server baseline "C baseline" "$TMP/baseline_server" @PORT@
start_server sockpit "sockpit" "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/data" \
    --max-open-sockets "$MAX_OPEN"
if [[ -n $BEFORE_BIN ]]; then
    [[ -x $BEFORE_BIN ]] || die "SOCKPIT_BIN_BEFORE=$BEFORE_BIN is not an executable"
    start_server before "sockpit before" "$BEFORE_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/data-before" \
        --max-open-sockets "$MAX_OPEN"
fi

# ------------------------------------------------------------------------------- request helpers (curl)
JSON_CT='Content-Type: application/json'
printf '{"family":"inet","type":"stream"}' >"$TMP/create.json"
printf '{"address":{"host":"127.0.0.1","port":%s},"timeout_ms":1000}' "$ECHO_PORT" >"$TMP/connect-echo.json"
printf '{"data":"%s","encoding":"utf8"}' "$(printf '0123456789abcdef%.0s' 1 2 3 4)" >"$TMP/send.json"
printf '{"max_bytes":64,"timeout_ms":1000}' >"$TMP/receive.json"
printf '{"type":"stream"}' >"$TMP/socketpair.json"
printf '{"timeout_ms":1000}' >"$TMP/accept.json"
printf '{"address":{"host":"127.0.0.1","port":0}}' >"$TMP/bind.json"
printf '{"backlog":1024}' >"$TMP/listen.json"

# batch PORT < lines "METHOD PATH [BODYFILE]": sends them in order on one keep-alive curl connection; prints
# each response body followed by a line "@status CODE".
batch() {
    local port=$1 cfg="$TMP/batch.cfg" method path body first=1
    : >"$cfg"
    while read -r method path body; do
        ((first)) || echo next >>"$cfg"
        first=0
        {
            printf 'url = "http://127.0.0.1:%s%s"\n' "$port" "$path"
            printf 'request = "%s"\n' "$method"
            [[ -z $body ]] || printf 'data = "@%s"\nheader = "%s"\n' "$body" "$JSON_CT"
            printf 'silent\nmax-time = 10\nwrite-out = "\\n@status %%{http_code}\\n"\n'
        } >>"$cfg"
    done
    timeout --kill-after=5 600 curl -K "$cfg" || true # statuses are checked by the caller
}

# file code count [code count...]: dies unless the batch output holds exactly these statuses.
expect_statuses() {
    local file=$1 want got
    shift
    want=$(while (($#)); do echo "$1 $2"; shift 2; done | sort)
    got=$(awk '/^@status / { n[$2]++ } END { for (c in n) print c, n[c] }' "$file" | sort)
    [[ $got == "$want" ]] || die "unexpected statuses in $(basename "$file"): got [$(tr '\n' ' ' <<<"$got")], want [$(tr '\n' ' ' <<<"$want")]"
}

ids_in() { grep -o '"id" : "[^"]*"' "$1" | cut -d'"' -f4; } # socket ids in batch output (not parent_id)

# ------------------------------------------------------------------------------------- sanity checks
SP="http://127.0.0.1:${PORT[sockpit]}"
echo
echo "== Sockpit socket lifecycle benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -srm)"
echo "   libmicrohttpd $(pkg-config --modversion libmicrohttpd), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), sockpit binary: $SOCKPIT_BIN"
echo "   sockpit: serve --max-open-sockets $MAX_OPEN, log level info (the shipped default: one access-log line per request)"
echo "   echo peer: bench/echo_server.c on 127.0.0.1:$ECHO_PORT; load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg)"

# One lifecycle by hand, checked step by step; it leaves OPEN_ID (connected, kept open for the read path)
# and CLOSED_ID (a finished session, answered from SQLite history).
{
    echo "POST /v1/sockets $TMP/create.json"
    echo "POST /v1/sockets $TMP/create.json"
} | batch "${PORT[sockpit]}" >"$TMP/sanity-create.txt"
expect_statuses "$TMP/sanity-create.txt" 201 2
mapfile -t SANITY_IDS < <(ids_in "$TMP/sanity-create.txt")
OPEN_ID=${SANITY_IDS[0]}
CLOSED_ID=${SANITY_IDS[1]}
for id in "$OPEN_ID" "$CLOSED_ID"; do
    echo "POST /v1/sockets/$id/connect $TMP/connect-echo.json"
    echo "POST /v1/sockets/$id/send $TMP/send.json"
    echo "POST /v1/sockets/$id/receive $TMP/receive.json"
done | batch "${PORT[sockpit]}" >"$TMP/sanity-steps.txt"
expect_statuses "$TMP/sanity-steps.txt" 200 6
[[ $(grep -c '"bytes" : 64' "$TMP/sanity-steps.txt") == 2 ]] || die "the echo did not come back in one receive: $(cat "$TMP/sanity-steps.txt")"
echo "DELETE /v1/sockets/$CLOSED_ID" | batch "${PORT[sockpit]}" >"$TMP/sanity-close.txt"
expect_statuses "$TMP/sanity-close.txt" 204 1

body_info() { curl -s -o /dev/null -m 5 -w '%{http_code} %{size_download}\n' "$1"; }
read -r c_open s_open < <(body_info "$SP/v1/sockets/$OPEN_ID")
read -r c_closed s_closed < <(body_info "$SP/v1/sockets/$CLOSED_ID")
read -r c_base s_base < <(body_info "http://127.0.0.1:${PORT[baseline]}/v1/health")
[[ $c_open == 200 && $c_closed == 200 && $c_base == 200 ]] || die "GET checks: open $c_open, closed $c_closed, baseline $c_base"
grep -q '"state" : "closed"' <(curl -s -m 5 "$SP/v1/sockets/$CLOSED_ID") || die "$CLOSED_ID is not closed"
if [[ -n $BEFORE_BIN ]]; then
    echo "POST /v1/sockets $TMP/create.json" | batch "${PORT[before]}" >"$TMP/sanity-before.txt"
    expect_statuses "$TMP/sanity-before.txt" 201 1
    OPEN_ID_BEFORE=$(ids_in "$TMP/sanity-before.txt")
    echo "POST /v1/sockets/$OPEN_ID_BEFORE/connect $TMP/connect-echo.json" | batch "${PORT[before]}" >"$TMP/sanity-before-connect.txt"
    expect_statuses "$TMP/sanity-before-connect.txt" 200 1
    echo "   before: $BEFORE_BIN (its own data directory), open socket $OPEN_ID_BEFORE"
fi
echo "   by hand: create 201, connect/send/receive 200 (64 B echoed), close 204; GET open socket $s_open B" \
     "(live state + every option read from the kernel), GET closed socket $s_closed B (history), baseline" \
     "GET /v1/health $s_base B"

# -------------------------------------------------------------------------------- measurement helpers
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# Workloads: which server, wrk threads/connections, path, and whether lifecycle.lua drives it.
declare -A W_SERVER=() W_THREADS=() W_CONNS=() W_PATH=() W_LUA=() W_LABEL=()
workload() { W_SERVER[$1]=$2; W_THREADS[$1]=$3; W_CONNS[$1]=$4; W_PATH[$1]=$5; W_LUA[$1]=$6; W_LABEL[$1]=$7; }
workload lifecycle sockpit "$WORKERS" "$WORKERS" / 1 "sockpit lifecycles"
workload base_c8 baseline "$WORKERS" "$WORKERS" /v1/health 0 "C baseline -c$WORKERS"
workload base_c50 baseline "$READ_THREADS" "$READ_CONNECTIONS" /v1/health 0 "C baseline -c$READ_CONNECTIONS"
workload get_open sockpit "$READ_THREADS" "$READ_CONNECTIONS" "/v1/sockets/$OPEN_ID" 0 "sockpit GET open"
workload get_closed sockpit "$READ_THREADS" "$READ_CONNECTIONS" "/v1/sockets/$CLOSED_ID" 0 "sockpit GET closed"
BEFORE_LIFECYCLE=() BEFORE_READ=()
if [[ -n $BEFORE_BIN ]]; then
    workload lifecycle_before before "$WORKERS" "$WORKERS" / 1 "before lifecycles"
    workload get_open_before before "$READ_THREADS" "$READ_CONNECTIONS" "/v1/sockets/$OPEN_ID_BEFORE" 0 "before GET open"
    BEFORE_LIFECYCLE=(lifecycle_before) BEFORE_READ=(get_open_before)
fi

# key duration outfile: one wrk run of a workload.
run_wrk() {
    local key=$1 duration=$2 out=$3 secs args
    secs=$(seconds_of "$duration")
    args=(-t"${W_THREADS[$key]}" -c"${W_CONNS[$key]}" -d"$duration" --timeout 5s --latency)
    [[ ${W_LUA[$key]} == 1 ]] && args+=(-s "$LUA_SCRIPT")
    args+=("http://127.0.0.1:${PORT[${W_SERVER[$key]}]}${W_PATH[$key]}")
    if [[ ${W_LUA[$key]} == 1 ]]; then
        args+=(-- "$ECHO_PORT")
        [[ $UNIQUE != 1 ]] || args+=(unique)
    fi
    timeout --kill-after=5 $((secs + 30)) wrk "${args[@]}" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk ${W_LABEL[$key]} failed"; }
}

ERRORS=0
OTHER_MAX=0
declare -A RPS=() P50=() P99=() SRV_US=() LCS=() LC_US=() STEP_US=() SRV_CORES=() WRK_CORES=()

# key round: one measured run; prints a row and records the figures.
measure() {
    local key=$1 round=$2 name=${W_SERVER[$1]} out="$TMP/wrk-$1-$2.txt"
    local srv0 srv1 cli0 cli1 all0 all1 echo0 echo1 secs rps total p50 p99 non2xx sockerr
    cpu_before "${PID[$name]}" "${PID[echo]}"
    run_wrk "$key" "$DURATION" "$out"
    cpu_after "${PID[$name]}" "$key" "${PID[echo]}"
    kill -0 "${PID[$name]}" 2>/dev/null || die "${LABEL[$name]} died during ${W_LABEL[$key]} round $round"

    secs=$(awk '/ requests in / { v = $4; sub(/s,?$/, "", v); print v }' "$out")
    [[ -n $secs ]] || { cat "$out" >&2; die "cannot read wrk's report"; }
    wrk_figures "$out"
    ERRORS=$((ERRORS + non2xx + sockerr))

    local t_srv=$((srv1 - srv0)) t_cli=$((cli1 - cli0)) t_echo=$((echo1 - echo0)) t_all=$((all1 - all0))
    local srv_cores cli_cores echo_cores other_cores us_req
    local t_other=$((t_all - t_srv - t_cli - t_echo))
    srv_cores=$(cores "$t_srv" "$secs")
    cli_cores=$(cores "$t_cli" "$secs")
    echo_cores=$(cores "$t_echo" "$secs")
    other_cores=$(cores $((t_other > 0 ? t_other : 0)) "$secs")
    us_req=$(us_per "$t_srv" "$total")
    note_other "$other_cores"
    RPS[$key]+="$rps "; P50[$key]+="$p50 "; P99[$key]+="$p99 "; SRV_US[$key]+="$us_req "
    SRV_CORES[$key]+="$srv_cores "; WRK_CORES[$key]+="$cli_cores "

    if [[ ${W_LUA[$key]} == 1 ]]; then
        local lc unexpected extra mism inter lcs us_lc detail steps
        lc=$(awk '$1 == "lifecycle" && $2 == "lifecycles" { print $3 }' "$out")
        unexpected=$(awk '$1 == "lifecycle" && $2 == "unexpected" { print $3 }' "$out")
        extra=$(awk '$1 == "lifecycle" && $2 == "extra_receives" { print $3 }' "$out")
        mism=$(awk '$1 == "lifecycle" && $2 == "mismatched" { print $3 }' "$out")
        inter=$(awk '$1 == "lifecycle" && $2 == "interleaved" { print $3 }' "$out")
        [[ -n $lc && -n $unexpected ]] || { cat "$out" >&2; die "lifecycle.lua printed no totals"; }
        ERRORS=$((ERRORS + unexpected + mism + inter))
        lcs=$(awk -v n="$lc" -v d="$secs" 'BEGIN { printf "%.0f", n / d }')
        us_lc=$(us_per "$t_srv" "$lc" %.0f)
        LCS[$key]+="$lcs "; LC_US[$key]+="$us_lc "
        steps=$(awk '$1 == "lifecycle" && $2 ~ /^step_/ { s = $2; sub(/^step_/, "", s); printf "%s %.2f  ", s, $4 / 1000 }' "$out")
        awk '$1 == "lifecycle" && $2 ~ /^step_/ { print $2, $4 }' "$out" >>"$TMP/steps-$key.txt"
        printf '%-5s %-20s %9s %8.0f %8s %8s %6s/%-4s %7s %9s %8s %9s %9s %6s\n' "$round" "${W_LABEL[$key]}" "$lcs" "$rps" \
            "$p50" "$p99" "$non2xx" "$unexpected" "$sockerr" "$srv_cores" "$us_lc" "$cli_cores" "$echo_cores" "$other_cores"
        printf '      mean ms per step: %s| extra receives %s, echo mismatches %s, interleaved %s\n' "$steps" "$extra" "$mism" "$inter"
        detail=$(awk '$1 == "lifecycle" && $2 == "unexpected_detail" { $1 = ""; $2 = ""; print }' "$out")
        [[ $unexpected == 0 ]] || echo "      unexpected responses (step:status=count): $detail"
    else
        printf '%-5s %-20s %9s %8.0f %8s %8s %6s/%-4s %7s %9s %8s %9s %9s %6s\n' "$round" "${W_LABEL[$key]}" "-" "$rps" \
            "$p50" "$p99" "$non2xx" "-" "$sockerr" "$srv_cores" "$us_req" "$cli_cores" "$echo_cores" "$other_cores"
    fi
}

# keys...: warm-up runs, then ROUNDS rounds with the order rotating every round.
run_rounds() {
    local keys=("$@") n=$# round k key
    if ((WARMUP_S > 0)); then
        for key in "${keys[@]}"; do run_wrk "$key" "$WARMUP" "$TMP/warmup-$key.txt"; done
    fi
    printf '%-5s %-20s %9s %8s %8s %8s %11s %7s %9s %8s %9s %9s %6s\n' round workload "cycles/s" "req/s" "p50 ms" \
        "p99 ms" "non2xx/bad" sockerr "srv cores" "srv µs" "wrk cores" "echo cores" other
    for ((round = 1; round <= ROUNDS; round++)); do
        for ((k = 0; k < n; k++)); do
            measure "${keys[$(((k + round - 1) % n))]}" "$round"
        done
    done
}

# ------------------------------------------------------------------------------ 1. lifecycles per second
echo
echo "== 1. Full lifecycles: create, connect 127.0.0.1:$ECHO_PORT, send 64 B, receive (64 B, timeout_ms 1000), close"
[[ $UNIQUE != 1 ]] || echo "   BENCH_UNIQUE_PAYLOADS=1: every send carries a different 64-byte payload"
echo "   sockpit: wrk -t$WORKERS -c$WORKERS -d$DURATION -s bench/lifecycle.lua (one keep-alive connection per" \
     "worker); baseline: the same wrk threads and connections on GET /v1/health; $ROUNDS rounds, alternating"
echo "   (srv µs: server CPU per lifecycle for sockpit, per request for the baseline; non2xx/bad: wrk's" \
     "status>399 count / responses lifecycle.lua did not expect)"
run_rounds lifecycle "${BEFORE_LIFECYCLE[@]}" base_c8

# ------------------------------------------------------------------------------------- 2. the read path
echo
echo "== 2. Read path: wrk -t$READ_THREADS -c$READ_CONNECTIONS -d$DURATION, $ROUNDS rounds, alternating"
echo "   GET /v1/sockets/$OPEN_ID (open, connected: live state + options read from the kernel, $s_open B)"
echo "   GET /v1/sockets/$CLOSED_ID (closed: SQLite history, $s_closed B); baseline GET /v1/health ($s_base B)"
run_rounds base_c50 get_open get_closed "${BEFORE_READ[@]}"

MAIN_RSS_KB=$(rss_kb "${PID[sockpit]}")

# ---------------------------------------------------------------------------------------- 3. memory
# A fresh sockpit, warmed with a short lifecycle run and a few sockets of every kind (opened and closed
# again), then measured before and after each phase. Sockets stay open until the last phase closes them all.
echo
echo "== 3. Resident memory of a fresh sockpit (VmRSS, /proc/PID/status), $MEM_SOCKETS sockets per phase"
start_server sockpit_mem "sockpit (memory)" "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ \
    --data-dir "$TMP/data-mem" --max-open-sockets "$MAX_OPEN"
MP=${PORT[sockpit_mem]}
MPID=${PID[sockpit_mem]}
workload mem_warm sockpit_mem "$WORKERS" "$WORKERS" / 1 "warm-up"
run_wrk mem_warm 1s "$TMP/wrk-mem-warm.txt"

: >"$TMP/mem-all-ids.txt"
# Each phase opens sockets of one kind and appends their ids to mem-all-ids.txt; close_all closes them.
phase_created() { # n: created inet stream sockets
    local n=$1 out="$TMP/mem-created-$1.txt"
    for ((i = 0; i < n; i++)); do echo "POST /v1/sockets $TMP/create.json"; done | batch "$MP" >"$out"
    expect_statuses "$out" 201 "$n"
    ids_in "$out" >>"$TMP/mem-all-ids.txt"
}
phase_connected() { # n: inet stream sockets connected to the echo server
    local n=$1 out="$TMP/mem-connected-$1.txt" ids
    for ((i = 0; i < n; i++)); do echo "POST /v1/sockets $TMP/create.json"; done | batch "$MP" >"$out.create"
    expect_statuses "$out.create" 201 "$n"
    ids=$(ids_in "$out.create")
    echo "$ids" >>"$TMP/mem-all-ids.txt"
    while read -r id; do echo "POST /v1/sockets/$id/connect $TMP/connect-echo.json"; done <<<"$ids" | batch "$MP" >"$out"
    expect_statuses "$out" 200 "$n"
}
phase_pairs() { # n: n/2 socketpairs (unix stream), both ends managed
    local n=$1 out="$TMP/mem-pairs-$1.txt"
    for ((i = 0; i < n / 2; i++)); do echo "POST /v1/socketpairs $TMP/socketpair.json"; done | batch "$MP" >"$out"
    expect_statuses "$out" 201 $((n / 2))
    ids_in "$out" >>"$TMP/mem-all-ids.txt"
}
phase_tcp_pairs() { # n: a listener plus n/2 client sockets connected to it and the n/2 accepted ones
    local n=$1 out="$TMP/mem-tcp-$1.txt" listener lport clients
    echo "POST /v1/sockets $TMP/create.json" | batch "$MP" >"$out.listener"
    listener=$(ids_in "$out.listener")
    { echo "POST /v1/sockets/$listener/bind $TMP/bind.json"; echo "POST /v1/sockets/$listener/listen $TMP/listen.json"; } \
        | batch "$MP" >"$out.listen"
    expect_statuses "$out.listen" 200 2
    lport=$(awk '/"local_address"/ { f = 1 } f && /"port"/ { gsub(/[^0-9]/, ""); print; exit }' "$out.listen")
    [[ -n $lport ]] || die "no port for the listener"
    printf '{"address":{"host":"127.0.0.1","port":%s},"timeout_ms":1000}' "$lport" >"$TMP/connect-listener.json"
    for ((i = 0; i < n / 2; i++)); do echo "POST /v1/sockets $TMP/create.json"; done | batch "$MP" >"$out.create"
    expect_statuses "$out.create" 201 $((n / 2))
    clients=$(ids_in "$out.create")
    # Connect one, accept one: the listen backlog never fills.
    while read -r id; do
        echo "POST /v1/sockets/$id/connect $TMP/connect-listener.json"
        echo "POST /v1/sockets/$listener/accept $TMP/accept.json"
    done <<<"$clients" | batch "$MP" >"$out"
    expect_statuses "$out" 200 $((n / 2)) 201 $((n / 2))
    # The connect answers name the clients, the accept answers the accepted sockets.
    { echo "$listener"; ids_in "$out"; } >>"$TMP/mem-all-ids.txt"
}
close_all() {
    local out="$TMP/mem-close-$1.txt" n
    n=$(wc -l <"$TMP/mem-all-ids.txt")
    while read -r id; do echo "DELETE /v1/sockets/$id"; done <"$TMP/mem-all-ids.txt" | batch "$MP" >"$out"
    expect_statuses "$out" 204 "$n"
    : >"$TMP/mem-all-ids.txt"
}
settle() { sleep 1; } # let in-flight tasks finish and the allocator settle before reading VmRSS

# Warm-up: a few of every kind, closed again.
phase_created 10; phase_connected 10; phase_pairs 10; phase_tcp_pairs 10; close_all warm
settle
declare -a MEM_NAME=() MEM_OPEN=() MEM_RSS=() MEM_FDS=()
mem_point() { MEM_NAME+=("$1"); MEM_OPEN+=("$2"); MEM_RSS+=("$(rss_kb "$MPID")"); MEM_FDS+=("$(fd_count "$MPID")"); }
mem_point "start (warmed up)" 0
phase_created "$MEM_SOCKETS"; settle
mem_point "+$MEM_SOCKETS created (inet stream, unconnected)" "$MEM_SOCKETS"
phase_connected "$MEM_SOCKETS"; settle
mem_point "+$MEM_SOCKETS connected to the echo peer" $((2 * MEM_SOCKETS))
phase_pairs "$MEM_SOCKETS"; settle
mem_point "+$((MEM_SOCKETS / 2)) socketpairs (unix stream)" $((3 * MEM_SOCKETS))
phase_tcp_pairs "$MEM_SOCKETS"; settle
mem_point "+$((MEM_SOCKETS / 2)) TCP pairs + listener" $((4 * MEM_SOCKETS + 1))
OPEN_AT_PEAK=$(wc -l <"$TMP/mem-all-ids.txt")
close_all all; settle
mem_point "all $OPEN_AT_PEAK closed again" 0
kill -0 "$MPID" 2>/dev/null || die "sockpit (memory) died"

printf '%-44s %7s %7s %9s %9s %12s %14s\n' phase open fds "RSS MB" "delta MB" "KB/socket" "MB per 1,000"
declare -A MEM_PER_1000=()
for ((i = 0; i < ${#MEM_NAME[@]}; i++)); do
    if ((i == 0)); then
        printf '%-44s %7s %7s %9.1f %9s %12s %14s\n' "${MEM_NAME[$i]}" "${MEM_OPEN[$i]}" "${MEM_FDS[$i]}" \
            "$(awk -v k="${MEM_RSS[$i]}" 'BEGIN { print k / 1024 }')" - - -
        continue
    fi
    d=$((MEM_RSS[i] - MEM_RSS[i - 1]))
    added=$((MEM_OPEN[i] - MEM_OPEN[i - 1]))
    if ((added > 0)); then
        per=$(awk -v d="$d" -v n="$added" 'BEGIN { printf "%.1f", d / n }')
        per1000=$(awk -v d="$d" -v n="$added" 'BEGIN { printf "%.2f", d / 1024 / n * 1000 }')
        MEM_PER_1000[$i]=$per1000
    else
        per=-; per1000=-
    fi
    printf '%-44s %7s %7s %9.1f %+9.1f %12s %14s\n' "${MEM_NAME[$i]}" "${MEM_OPEN[$i]}" "${MEM_FDS[$i]}" \
        "$(awk -v k="${MEM_RSS[i]}" 'BEGIN { print k / 1024 }')" "$(awk -v d="$d" 'BEGIN { print d / 1024 }')" "$per" "$per1000"
done
echo "(fds: the server's open file descriptors, i.e. the sockets really exist; RSS counts user space only:" \
     "the kernel's socket buffers are not in it)"
echo "main sockpit after sections 1-2: VmRSS $(awk -v k="$MAIN_RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }') MB;" \
     "access log $(wc -l <"$TMP/sockpit.err") lines"
# History batching (the server's own counters): how many operations share a SQLite transaction, and how
# much of the run the commits took. Covers everything the main server did in sections 1-2.
curl -s --max-time 5 "$SP/metrics" | awk '
    /^sockpit_history_writes_total / { w = $2 } /^sockpit_history_commits_total / { c = $2 }
    /^sockpit_history_commit_seconds_total / { s = $2 }
    END { if (c > 0) printf "history: %d writes committed in %d SQLite transactions (%.2f per commit), %.2f s in them\n", w, c, w / c, s }'


# -------------------------------------------------------------------------------------------- summary
verdict() { # value op target -> "met" | "MISSED"
    awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? (v >= t) : (v < t); print (ok ? "met" : "MISSED") }'
}
MISSED=0
row() { # figure measured target verdict
    printf '%-52s %-22s %-14s %s\n' "$1" "$2" "$3" "$4"
    [[ $4 == MISSED* ]] && MISSED=1
    return 0
}
lc_med=$(med "${LCS[lifecycle]}")
lc_us=$(med "${LC_US[lifecycle]}")
base8=$(med "${RPS[base_c8]}")
base50=$(med "${RPS[base_c50]}")
open_rps=$(med "${RPS[get_open]}")
closed_rps=$(med "${RPS[get_closed]}")
ratio_open=$(awk -v a="$open_rps" -v b="$base50" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
ratio_closed=$(awk -v a="$closed_rps" -v b="$base50" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
ceiling=$(awk -v b="$base8" 'BEGIN { printf "%.0f", b / 5 }')

echo
echo "== Per-step mean latency over the measured lifecycle runs (client side, ms)"
awk '{ s = $1; sub(/^step_/, "", s); sum[s] += $2; n[s]++; if (!(s in seen)) { seen[s] = 1; order[++k] = s } }
     END { for (i = 1; i <= k; i++) printf "  %s %.2f", order[i], sum[order[i]] / n[order[i]] / 1000; print "" }' \
    "$TMP/steps-lifecycle.txt"
echo
echo "== Server CPU by thread over the measured runs (CPU seconds, share of the process)"
for key in lifecycle get_open get_closed base_c50; do
    printf '%-22s%s\n' "${W_LABEL[$key]}" "$(cpu_split "$key")"
done

echo
echo "== Summary (medians over $ROUNDS rounds)"
row "figure" "measured" "target" "verdict"
row "lifecycles/s ($WORKERS workers, sockpit at info)" "$lc_med" ">= $TARGET_LIFECYCLES" \
    "$(verdict "$lc_med" ">=" "$TARGET_LIFECYCLES")"
row "  sockpit CPU per lifecycle (5 requests)" "$lc_us" "-" "(info, µs)"
row "  C baseline GET /v1/health, same -t/-c: req/s ÷ 5" "$ceiling" "-" "(info: HTTP floor)"
if [[ -n $BEFORE_BIN ]]; then
    lc_before=$(med "${LCS[lifecycle_before]}")
    vs_before=$(awk -v a="$lc_med" -v b="$lc_before" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    open_before=$(med "${RPS[get_open_before]}")
    row "  lifecycles/s of SOCKPIT_BIN_BEFORE, same rounds" "$lc_before" "-" "(CPU/lifecycle $(med "${LC_US[lifecycle_before]}") µs)"
    row "lifecycles/s, this binary ÷ before" "${vs_before}x" ">= ${TARGET_VS_BEFORE}x" "$(verdict "$vs_before" ">=" "$TARGET_VS_BEFORE")"
    row "  GET open socket req/s of SOCKPIT_BIN_BEFORE" "$(printf '%.0f' "$open_before") ($(awk -v a="$open_before" -v b="$base50" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x)" "-" "(info)"
fi
row "errors: non-2xx + socket errors + broken lifecycles" "$ERRORS" "0" "$( ((ERRORS == 0)) && echo met || echo MISSED)"
row "GET open socket req/s (-c$READ_CONNECTIONS)" "$(printf '%.0f' "$open_rps") (${ratio_open}x)" \
    ">= ${TARGET_READ}x base" "$(verdict "$ratio_open" ">=" "$TARGET_READ")"
row "  C baseline GET /v1/health req/s" "$(printf '%.0f' "$base50")" "-" "(reference)"
row "GET closed socket req/s (SQLite history)" "$(printf '%.0f' "$closed_rps") (${ratio_closed}x)" "-" "(info)"
row "  sockpit CPU per GET open / closed" "$(med "${SRV_US[get_open]}") / $(med "${SRV_US[get_closed]}")" \
    "-" "(µs; baseline $(med "${SRV_US[base_c50]}"))"
row "RSS per 1,000 created inet stream sockets" "${MEM_PER_1000[1]} MB" "< $TARGET_MEM_MB MB" \
    "$(verdict "${MEM_PER_1000[1]}" "<" "$TARGET_MEM_MB")"
row "RSS per 1,000 inet sockets connected (echo peer)" "${MEM_PER_1000[2]} MB" "< $TARGET_MEM_MB MB" \
    "$(verdict "${MEM_PER_1000[2]}" "<" "$TARGET_MEM_MB")"
row "RSS per 1,000 socketpair ends (unix stream)" "${MEM_PER_1000[3]} MB" "< $TARGET_MEM_MB MB" \
    "$(verdict "${MEM_PER_1000[3]}" "<" "$TARGET_MEM_MB")"
row "RSS per 1,000 TCP pair ends (listen/accept)" "${MEM_PER_1000[4]} MB" "< $TARGET_MEM_MB MB" \
    "$(verdict "${MEM_PER_1000[4]}" "<" "$TARGET_MEM_MB")"
if other_busy; then
    echo "WARNING: other work on the machine used up to $OTHER_MAX cores during a run: rates are skewed low;" \
         "the CPU-per-request figures (srv µs) are the stable ones - rerun on a quiet machine"
fi

if ((ERRORS > 0)); then
    echo "sockets_lifecycle: $ERRORS errors during the measured runs: the figures are not valid" >&2
    exit 1
fi
if [[ $STRICT == 1 && $MISSED == 1 ]]; then exit 3; fi
exit 0
