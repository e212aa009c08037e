#!/usr/bin/env bash
# Sockpit's probes through the HTTP API against the classic tools, in one run (see bench/README.md, "Probe
# benchmark"):
#   1. TCP connect scans of 127.0.0.1, ports 1-1024 and 1-65535: POST /v1/probes {"kind":"tcp",...} against
#      `nmap -sT -n -Pn`. Wall time of each side, the probe's own duration_ms next to nmap's own "scanned in",
#      and the verdicts port by port (sockpit's results against `nmap -oG -`), with a few listeners started
#      first so that some ports are open;
#   2. ICMP echo: POST /v1/probes {"kind":"icmp","count":100,"interval_ms":0,...} against
#      `ping -c 100 -i 0 -q`, with the probe's received count and loss.
# The sides alternate within each round (A B, then B A, ...), so that drift on the machine hits both alike.
# Only 127.0.0.1 is probed. As root the measured part runs in a fresh network namespace (`unshare --net`, with
# only loopback up), so that other programs' short-lived listeners on this machine cannot change the verdicts
# between the two sides; BENCH_NETNS=0 measures in the host's namespace instead. Every curl, nmap and ping
# run is bounded with timeout; an EXIT trap stops sockpit and the listeners and removes the temp directory.
#
# Environment (all optional):
#   SOCKPIT_BIN=/path          use this sockpit binary instead of building
#                              (`swift build -c release --scratch-path .build-bench`)
#   BENCH_ROUNDS=3             measured rounds per figure (each round runs both sides once)
#   BENCH_WARMUP=1             one unrecorded run of each side per figure first (0 skips it)
#   BENCH_RANGES="1-1024 1-65535"  the port ranges scanned, one figure each
#   BENCH_PING_COUNT=100       echoes per ICMP run (count, and ping -c)
#   BENCH_TIMEOUT_MS=1000      timeout_ms of the probes
#   BENCH_LISTEN_PORTS=22,80,443,8080,50000  extra listeners on 127.0.0.1 (a port already in use is open anyway)
#   BENCH_NETNS=auto           auto: own network namespace when root and unshare works; 1: require it; 0: never
#   BENCH_GET=1                after each API scan, time GET /v1/probes/{id} (the stored result re-read and
#                              re-encoded alone; not part of any measured figure)
#   BENCH_LIMIT_S=180          bound of each curl / nmap / ping run, in seconds
#   BENCH_TARGET_SCAN=0.5      a scan's wall time must be at most this times nmap's
#   BENCH_TARGET_ICMP=2        the ICMP run's wall time must be at most this times ping's
#   BENCH_STRICT=0             1: exit 3 when a target is missed
#   BENCH_KEEP_TMP=            non-empty: keep the temp dir (responses, nmap output, sockpit's log)
# Exit status: 0 measured (targets met or not, unless BENCH_STRICT=1); 1 setup failure, or a run that did not
# measure (an HTTP status other than 201, nmap or ping failing, output that cannot be read); 3 a target was
# missed with BENCH_STRICT=1.
set -euo pipefail
# Which rows the scan answers carry (?results=): not_closed matches what nmap prints (closed ports counted,
# not listed); all lists every port. Storage keeps every row either way.
RESULTS=${BENCH_RESULTS:-not_closed}
export LC_ALL=C # EPOCHREALTIME and printf use '.' as the decimal point

ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-1}
RANGES=${BENCH_RANGES:-1-1024 1-65535}
PING_COUNT=${BENCH_PING_COUNT:-100}
TIMEOUT_MS=${BENCH_TIMEOUT_MS:-1000}
LISTEN_PORTS=${BENCH_LISTEN_PORTS:-22,80,443,8080,50000}
NETNS=${BENCH_NETNS:-auto}
GET_PASS=${BENCH_GET:-1}
LIMIT=${BENCH_LIMIT_S:-180}
TARGET_SCAN=${BENCH_TARGET_SCAN:-0.5}
TARGET_ICMP=${BENCH_TARGET_ICMP:-2}
STRICT=${BENCH_STRICT:-0}

BENCH_NAME=probes
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive integer, not '$ROUNDS'"
[[ $WARMUP =~ ^[01]$ ]] || die "BENCH_WARMUP must be 0 or 1, not '$WARMUP'"
[[ $PING_COUNT =~ ^[1-9][0-9]*$ ]] && ((PING_COUNT <= 1000)) || die "BENCH_PING_COUNT must be 1..1000, not '$PING_COUNT'"
[[ $TIMEOUT_MS =~ ^[1-9][0-9]*$ ]] && ((TIMEOUT_MS <= 60000)) || die "BENCH_TIMEOUT_MS must be 1..60000, not '$TIMEOUT_MS'"
[[ $LISTEN_PORTS =~ ^([0-9]+(,[0-9]+)*)?$ ]] || die "BENCH_LISTEN_PORTS must be a comma-separated list of ports"
[[ $NETNS =~ ^(auto|0|1)$ ]] || die "BENCH_NETNS must be auto, 0 or 1, not '$NETNS'"
[[ $LIMIT =~ ^[1-9][0-9]*$ ]] || die "BENCH_LIMIT_S must be a positive integer, not '$LIMIT'"
for range in $RANGES; do
    [[ $range =~ ^([0-9]+)-([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= BASH_REMATCH[2] &&
        BASH_REMATCH[2] <= 65535)) || die "BENCH_RANGES: '$range' is not a range LO-HI within 1-65535"
done
[[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is needed (EPOCHREALTIME)"

# ----------------------------------------------------------------- build, then the network namespace
if [[ -z ${_SOCKPIT_PROBES_INNER:-} ]]; then
    need_tools curl nmap ping python3 timeout ss ip awk
    sockpit_binary --scratch-path .build-bench
    export SOCKPIT_BIN
    if [[ $NETNS != 0 ]]; then
        if [[ $(id -u) == 0 ]] && command -v unshare >/dev/null && unshare --net true 2>/dev/null; then
            # Same PID (unshare execs), so signals and the caller's timeout still reach this script.
            export _SOCKPIT_PROBES_INNER=netns
            exec unshare --net -- "$BASH" "${BASH_SOURCE[0]}"
        fi
        [[ $NETNS == 1 ]] && die "BENCH_NETNS=1 but no network namespace can be made (needs root and unshare --net)"
        echo "probes: no network namespace (not root, or unshare --net refused): measuring in the host's;" \
             "other programs' listeners may come and go during a round" >&2
    fi
    _SOCKPIT_PROBES_INNER=host
fi
MODE=$_SOCKPIT_PROBES_INNER
if [[ $MODE == netns ]]; then
    ip link set lo up || die "cannot bring loopback up in the new network namespace"
fi

# -------------------------------------------------------------------------------------- temp + cleanup
make_tmp sockpit-probes

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ------------------------------------------------------------------------------------ python helpers
# listen PORT...: listens on 127.0.0.1:PORT for each, prints the ports it got on one line, then accepts and
# closes connections forever (so that accept queues never fill up, whatever the number of rounds).
# summary FILE tcp|icmp: one line of fields from a probe response.
# compare LO-HI API.json NMAP.gnmap SS...: sockpit's verdicts against nmap's, port by port; differences on a
# port whose listening state changed between the `ss -ltn` snapshots are "transient", the others mismatches.
cat >"$TMP/helper.py" <<'PY'
import errno, json, re, selectors, socket, sys

def listen(ports):
    sel, got = selectors.DefaultSelector(), []
    for port in ports:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1024)
        except OSError as e:
            print(f"listener: port {port}: {errno.errorcode.get(e.errno, e.errno)}"
                  + (" (already open: still counts)" if e.errno == errno.EADDRINUSE else ""), file=sys.stderr)
            s.close()
            continue
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        got.append(port)
    print(" ".join(map(str, got)) or "-", flush=True)
    while True:
        for key, _ in sel.select():
            try:
                key.fileobj.accept()[0].close()
            except OSError:
                pass

def show(v):
    return "-" if v is None else ("%g" % v if isinstance(v, float) else str(v))

def summary(path, kind):
    d = json.load(open(path))
    rows = d.get("results") or []
    head = [d.get("id"), d.get("status"), d.get("outcome"), d.get("duration_ms")]
    if kind == "tcp":
        states = {}
        for r in rows:
            states[r["state"]] = states.get(r["state"], 0) + 1
        other = len(rows) - states.get("open", 0) - states.get("closed", 0) - states.get("filtered", 0)
        # With results=not_closed the closed ports are only counted in the summary (like nmap's output).
        omitted = (d.get("summary") or {}).get("closed", 0) - states.get("closed", 0)
        tail = [len(rows) + omitted, states.get("open", 0), states.get("closed", 0) + omitted, states.get("filtered", 0), other]
    else:
        s = d.get("summary") or {}
        tail = [s.get("sent"), s.get("received"), s.get("loss_percent"), s.get("rtt_avg_ms"),
                sum(1 for r in rows if r.get("state") == "reply")]
    print(" ".join(show(v) for v in head + tail))

def listening(path):
    ports = set()
    for line in open(path):
        f = line.split()
        if len(f) < 4:
            continue
        host, _, port = f[3].rpartition(":")
        host = host.split("%")[0]
        if host in ("0.0.0.0", "*", "[::]", "[::ffff:127.0.0.1]") or host.startswith("127.") \
                or host.startswith("[::ffff:127."):
            ports.add(int(port))
    return ports

def nmap_states(path, lo, hi):
    listed, ignored, done = {}, None, None
    for line in open(path):
        if line.startswith("# Nmap done"):
            m = re.search(r"scanned in ([0-9.]+) seconds", line)
            done = float(m.group(1)) if m else None
        if not line.startswith("Host:") or "Ports:" not in line:
            continue
        for field in line.rstrip("\n").split("\t"):
            if field.startswith("Ports:"):
                for entry in field[len("Ports:"):].split(","):
                    entry = entry.strip()
                    if entry:
                        parts = entry.split("/")
                        listed[int(parts[0])] = parts[1]
            elif field.startswith("Ignored State:"):
                m = re.match(r"Ignored State: (\S+) \((\d+)\)", field)
                ignored = (m.group(1), int(m.group(2))) if m else None
    if done is None:
        sys.exit("nmap output has no '# Nmap done ... scanned in' line")
    default = ignored[0] if ignored else "not-reported"
    return {p: listed.get(p, default) for p in range(lo, hi + 1)}

def compare(rng, api_path, nmap_path, *snapshots):
    lo, hi = map(int, rng.split("-"))
    doc = json.load(open(api_path))
    rows = doc.get("results") or []
    api = {r["port"]: r["state"] for r in rows}
    omitted = (doc.get("summary") or {}).get("closed", 0) - sum(1 for r in rows if r["state"] == "closed")
    nmap = nmap_states(nmap_path, lo, hi)
    seen = [listening(s) for s in snapshots]
    always = set.intersection(*seen) if seen else set()
    ever = set.union(*seen) if seen else set()
    mismatch, transient, lines = 0, 0, []
    for p in range(lo, hi + 1):
        a, n = api.get(p, "closed" if omitted > 0 else "missing"), nmap[p]
        if a == n:
            continue
        moved = p in ever and p not in always
        if moved:
            transient += 1
        else:
            mismatch += 1
        if len(lines) < 20:
            lines.append(f"      port {p}: sockpit {a}, nmap {n}"
                         + (" (transient: its listener came or went during the round)" if moved else ""))
    def count(states, s):
        return sum(1 for p in range(lo, hi + 1) if states.get(p) == s)
    opened = lambda states: ",".join(str(p) for p in range(lo, hi + 1) if states.get(p) == "open") or "-"
    print(mismatch, transient, opened(api), opened(nmap), count(nmap, "closed"), count(nmap, "filtered"))
    for line in lines:
        print(line)
    if mismatch + transient > len(lines):
        print(f"      ... and {mismatch + transient - len(lines)} more")

def nmap_done(path):
    for line in open(path):
        m = re.search(r"scanned in ([0-9.]+) seconds", line)
        if line.startswith("# Nmap done") and m:
            print("%.0f" % (float(m.group(1)) * 1000))
            return
    sys.exit("nmap output has no '# Nmap done ... scanned in' line")

cmd, args = sys.argv[1], sys.argv[2:]
{"listen": lambda: listen([int(p) for p in args[0].split(",") if p]),
 "summary": lambda: summary(*args), "compare": lambda: compare(*args),
 "nmap_done": lambda: nmap_done(*args)}[cmd]()
PY
helper() { python3 "$TMP/helper.py" "$@"; }

# ------------------------------------------------------------------------------------------- servers
LISTENERS=-
if [[ -n $LISTEN_PORTS ]]; then
    python3 "$TMP/helper.py" listen "$LISTEN_PORTS" >"$TMP/listeners.out" 2>"$TMP/listeners.err" &
    PID[listeners]=$!
    for ((i = 0; i < 100; i++)); do
        [[ -s $TMP/listeners.out ]] && break
        kill -0 "${PID[listeners]}" 2>/dev/null || { cat "$TMP/listeners.err" >&2; die "the listeners did not start"; }
        sleep 0.05
    done
    LISTENERS=$(head -n 1 "$TMP/listeners.out")
    [[ -n $LISTENERS ]] || die "the listeners did not report their ports"
fi

mkdir -p "$TMP/data"
start_server sockpit sockpit "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/data"
SOCKPIT_PORT=${PORT[sockpit]}
BASE=http://127.0.0.1:$SOCKPIT_PORT
SOCKPIT_PID=${PID[sockpit]}

# -------------------------------------------------------------------------------- measurement helpers
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
ticks_ms() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", t / hz * 1000 }'; }
min1() { awk '{ for (i = 1; i <= NF; i++) if (i == 1 || $i < m) m = $i } END { printf "%.1f", m }' <<<"$1"; }
med1() { awk -v v="$(med "$1")" 'BEGIN { if (v == "nan") print v; else printf "%.1f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
ss_snapshot() { ss -Hltn >"$1" 2>/dev/null || : >"$1"; }

# Results of the last measure_* call.
M_WALL= M_PROC= M_CPU= M_OTHER=
OTHER_MAX=0
OTHER_MIN_WALL=0.3 # seconds: "other" comes from /proc/stat in 1/CLK_TCK steps, meaningless for shorter runs

# sockpit's CPU in ns, thread by thread ("tid ns", from schedstat: exact, unlike /proc/PID/stat's ticks).
sockpit_threads_ns() { awk '{ n = split(FILENAME, p, "/"); print p[n - 1], $1 }' /proc/"$SOCKPIT_PID"/task/*/schedstat 2>/dev/null; }
# CPU ms of this shell's waited-for children (curl, nmap, ping, timeout), from the `times` builtin (getrusage:
# exact to the ms). It must run in this shell, not in $(...), whose children are its own.
children_ms() { awk 'NR == 2 { split($0, f, /[ms ]+/); printf "%.3f", (f[1] * 60 + f[2] + f[3] * 60 + f[4]) * 1000 }' "$1"; }

# CPU accounting around one timed run. M_CPU: the side's CPU in ms (the children this shell waited for,
# plus sockpit's process for the API side); M_OTHER: cores the rest of the machine used, "-" for short runs.
begin_cpu() {
    sockpit_threads_ns >"$TMP/threads.0"
    C_TICKS0=$(proc_ticks "$SOCKPIT_PID")
    C_ALL0=$(machine_ticks)
    times >"$TMP/times.0" # last: the awk runs above are then not counted as the measured command's CPU
}
end_cpu() { # with-sockpit(0|1) wall-seconds
    times >"$TMP/times.1"
    local all1 ticks1 srv_ms cli_ms ticks_ms_ side
    all1=$(machine_ticks)
    ticks1=$(proc_ticks "$SOCKPIT_PID")
    sockpit_threads_ns >"$TMP/threads.1"
    cli_ms=$(awk -v a="$(children_ms "$TMP/times.0")" -v b="$(children_ms "$TMP/times.1")" 'BEGIN { printf "%.3f", b - a }')
    # Per-thread deltas; a thread born during the run counts whole. One that ended during the run is lost
    # to schedstat, so the tick count (10 ms steps, but it keeps ended threads) wins when clearly higher.
    srv_ms=$(awk 'FNR == NR { before[$1] = $2; next } { s += $2 - ($1 in before ? before[$1] : 0) }
                  END { printf "%.3f", s / 1e6 }' "$TMP/threads.0" "$TMP/threads.1")
    ticks_ms_=$(ticks_ms $((ticks1 - C_TICKS0)))
    srv_ms=$(awk -v s="$srv_ms" -v t="$ticks_ms_" 'BEGIN { printf "%.3f", (t > s + 20 ? t : s) }')
    side=$(awk -v c="$cli_ms" -v s="$srv_ms" -v w="$1" 'BEGIN { printf "%.3f", c + (w ? s : 0) }')
    M_CPU=$(awk -v v="$side" 'BEGIN { printf "%.1f", v }')
    M_OTHER=$(awk -v all=$((all1 - C_ALL0)) -v hz="$CLK_TCK" -v c="$cli_ms" -v s="$srv_ms" -v w="$2" -v min="$OTHER_MIN_WALL" \
        'BEGIN { if (w < min) { print "-"; exit } t = all / hz - (c + s) / 1000; printf "%.2f", (t > 0 ? t / w : 0) }')
    [[ $M_OTHER == - ]] || note_other "$M_OTHER"
}

# body out: POST /v1/probes; M_WALL is curl's time_total, M_PROC the curl process's wall time (its start-up
# included), M_SIZE the response size.
measure_api() {
    local body=$1 out=$2 t0 t1 res code total size
    begin_cpu
    t0=$EPOCHREALTIME
    res=$(timeout -k 5 "$LIMIT" curl -sS -o "$out" -m "$LIMIT" -w '%{http_code} %{time_total} %{size_download}' \
        -H 'Content-Type: application/json' --data-binary "$body" "$BASE/v1/probes?results=$RESULTS") \
        || die "curl POST /v1/probes failed or timed out ($body)"
    t1=$EPOCHREALTIME
    read -r code total size <<<"$res"
    end_cpu 1 "$total"
    [[ $code == 201 ]] || { head -c 2000 "$out" >&2; echo >&2; die "POST /v1/probes answered $code, not 201 ($body)"; }
    kill -0 "$SOCKPIT_PID" 2>/dev/null || die "sockpit died (see its stderr)"
    M_WALL=$(awk -v t="$total" 'BEGIN { printf "%.1f", t * 1000 }')
    M_PROC=$(ms_between "$t0" "$t1")
    M_SIZE=$size
}

# out command...: one baseline run, stdout to out; M_WALL is its wall time (process start to exit).
measure_cmd() {
    local out=$1 t0 t1 rc=0
    shift
    begin_cpu
    t0=$EPOCHREALTIME
    timeout -k 5 "$LIMIT" "$@" >"$out" 2>"$out.err" || rc=$?
    t1=$EPOCHREALTIME
    end_cpu 0 "$(( ${t1/./} - ${t0/./} ))e-6"
    ((rc == 0)) || { cat "$out" "$out.err" >&2; die "'$*' failed (exit $rc; 124 is the $LIMIT s bound)"; }
    M_WALL=$(ms_between "$t0" "$t1")
}

# ------------------------------------------------------------------------------------------- header
echo
echo "== Sockpit probes against nmap and ping: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -srm)"
echo "   $(nmap --version | head -n 1), $(ping -V 2>&1 | head -n 1), curl $(curl --version | awk 'NR == 1 { print $2 }')"
echo "   sockpit binary: $SOCKPIT_BIN, listening on 127.0.0.1:$SOCKPIT_PORT (log level info, data dir on" \
     "$(df -T "$TMP" | awk 'NR == 2 { print $2 }'))"
if [[ $MODE == netns ]]; then
    echo "   network: a fresh namespace (unshare --net), loopback only: nothing else listens"
else
    echo "   network: the host's namespace; other listeners on this machine count, and may come and go"
fi
echo "   extra listeners on 127.0.0.1: ${LISTENERS//[ ]/,}; open files limit $(ulimit -n); $ROUNDS rounds per figure," \
     "sides alternating; warm-up $( ((WARMUP == 1)) && echo "1 run per side" || echo none)"
echo "   load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg) (see 'other' per run: cores the rest" \
     "of the machine used)"

declare -A WALL=() PROCW=() OWN=() CPU=() EXTRA=()
MISMATCH_TOTAL=0
declare -A MISMATCH=() TRANSIENT=() RANGE_OPEN=()

row_head() { printf '%-5s %-13s %10s %10s %8s %6s  %s\n' round side "wall ms" "own ms" "cpu ms" other notes; }

# ------------------------------------------------------------------------------------------ 1. scans
for range in $RANGES; do
    body="{\"kind\":\"tcp\",\"target\":\"127.0.0.1\",\"ports\":\"$range\",\"timeout_ms\":$TIMEOUT_MS}"
    nmap_cmd=(nmap -sT -n -Pn "-p$range" 127.0.0.1 -oG -)
    echo
    echo "== TCP connect scan of 127.0.0.1 ports $range"
    echo "   sockpit: POST /v1/probes $body (wall: curl time_total; own: the probe's duration_ms)"
    echo "   nmap:    ${nmap_cmd[*]} (wall: process start to exit; own: nmap's 'scanned in')"
    if ((WARMUP == 1)); then
        measure_api "$body" "$TMP/warm-$range.json"
        measure_cmd "$TMP/warm-$range.gnmap" "${nmap_cmd[@]}"
    fi
    row_head
    MISMATCH[$range]=0 TRANSIENT[$range]=0
    for ((round = 1; round <= ROUNDS; round++)); do
        sides=(api nmap)
        ((round % 2 == 0)) && sides=(nmap api)
        api_out="$TMP/scan-$range-$round.json"
        nmap_out="$TMP/scan-$range-$round.gnmap"
        ss_snapshot "$TMP/ss-$range-$round-0"
        snap=0
        for side in "${sides[@]}"; do
            if [[ $side == api ]]; then
                measure_api "$body" "$api_out"
                # $(...), not < <(...): a process substitution is reaped later, and its CPU would land in a measured run.
                line=$(helper summary "$api_out" tcp) || die "cannot read the probe response $api_out"
                read -r id status outcome dur rows n_open n_closed n_filtered n_other <<<"$line"
                [[ $status == finished && $dur != - ]] || die "probe $id is $status, with no duration_ms"
                notes=$(awk -v s="$M_SIZE" -v p="$M_PROC" 'BEGIN { printf "body %.2f MB, curl process %.1f ms", s / 1e6, p }')
                if [[ $GET_PASS == 1 ]]; then
                    get=$(timeout -k 5 "$LIMIT" curl -sS -o /dev/null -m "$LIMIT" -w '%{http_code} %{time_total}' \
                        "$BASE/v1/probes/$id") || die "GET /v1/probes/$id failed"
                    [[ ${get%% *} == 200 ]] || die "GET /v1/probes/$id answered ${get%% *}"
                    get_ms=$(awk -v t="${get#* }" 'BEGIN { printf "%.1f", t * 1000 }')
                    notes+=", then GET of the stored probe $get_ms ms"
                    EXTRA[get-$range]+="$get_ms "
                fi
                EXTRA[body-$range]=$M_SIZE
                EXTRA[http-$range]+="$(awk -v w="$M_WALL" -v d="$dur" 'BEGIN { printf "%.1f", w - d }') "
                printf '%-5s %-13s %10s %10s %8s %6s  %s\n' "$round" "sockpit API" "$M_WALL" "$dur" "$M_CPU" "$M_OTHER" "$notes"
                WALL[api-$range]+="$M_WALL "
                PROCW[api-$range]+="$M_PROC "
                OWN[api-$range]+="$dur "
                CPU[api-$range]+="$M_CPU "
            else
                measure_cmd "$nmap_out" "${nmap_cmd[@]}"
                own=$(helper nmap_done "$nmap_out") || die "cannot read nmap's output $nmap_out"
                printf '%-5s %-13s %10s %10s %8s %6s  %s\n' "$round" "nmap -sT" "$M_WALL" "$own" "$M_CPU" "$M_OTHER" \
                    "own has 10 ms steps"
                WALL[nmap-$range]+="$M_WALL "
                OWN[nmap-$range]+="$own "
                CPU[nmap-$range]+="$M_CPU "
            fi
            snap=$((snap + 1))
            ss_snapshot "$TMP/ss-$range-$round-$snap"
        done
        helper compare "$range" "$api_out" "$nmap_out" "$TMP"/ss-"$range"-"$round"-* >"$TMP/compare.txt" \
            || die "cannot compare the verdicts of round $round"
        read -r mismatch transient api_open nmap_open nmap_closed nmap_filtered <"$TMP/compare.txt"
        MISMATCH[$range]=$((${MISMATCH[$range]} + mismatch))
        TRANSIENT[$range]=$((${TRANSIENT[$range]} + transient))
        RANGE_OPEN[$range]=$api_open
        if ((mismatch + transient == 0)); then
            echo "      verdicts: same. open: $api_open; closed: $n_closed (nmap $nmap_closed);" \
                 "filtered: $n_filtered (nmap $nmap_filtered)"
        else
            echo "      verdicts: $mismatch ports differ, $transient more on transient listeners." \
                 "sockpit open: $api_open (closed $n_closed, filtered $n_filtered, other $n_other);" \
                 "nmap open: $nmap_open (closed $nmap_closed, filtered $nmap_filtered)"
            tail -n +2 "$TMP/compare.txt"
        fi
    done
    MISMATCH_TOTAL=$((MISMATCH_TOTAL + ${MISMATCH[$range]}))
done

# ------------------------------------------------------------------------------------------- 2. ICMP
body="{\"kind\":\"icmp\",\"target\":\"127.0.0.1\",\"count\":$PING_COUNT,\"interval_ms\":0,\"timeout_ms\":$TIMEOUT_MS}"
ping_cmd=(ping -c "$PING_COUNT" -i 0 -q 127.0.0.1)
echo
echo "== ICMP echo, $PING_COUNT requests at interval 0 to 127.0.0.1"
echo "   sockpit: POST /v1/probes $body (wall: curl time_total; own: duration_ms)"
echo "   ping:    ${ping_cmd[*]} (wall: process start to exit; own: ping's 'time')"
if ((WARMUP == 1)); then
    measure_api "$body" "$TMP/warm-icmp.json"
    measure_cmd "$TMP/warm-icmp.ping" "${ping_cmd[@]}"
fi
row_head
ICMP_BAD=0
for ((round = 1; round <= ROUNDS; round++)); do
    sides=(api ping)
    ((round % 2 == 0)) && sides=(ping api)
    for side in "${sides[@]}"; do
        if [[ $side == api ]]; then
            out="$TMP/icmp-$round.json"
            measure_api "$body" "$out"
            line=$(helper summary "$out" icmp) || die "cannot read the probe response $out"
            read -r id status outcome dur sent received loss rtt replies <<<"$line"
            [[ $status == finished && $dur != - ]] || die "probe $id is $status, with no duration_ms"
            [[ $received == "$PING_COUNT" && $loss == 0 ]] || ICMP_BAD=$((ICMP_BAD + 1))
            EXTRA[icmp-recv]+="$received/$sent,$loss% "
            printf '%-5s %-13s %10s %10s %8s %6s  %s\n' "$round" "sockpit API" "$M_WALL" "$dur" "$M_CPU" "$M_OTHER" \
                "received $received/$sent, loss $loss %, rtt avg $rtt ms, outcome $outcome; curl process $M_PROC ms"
            WALL[api-icmp]+="$M_WALL "
            PROCW[api-icmp]+="$M_PROC "
            OWN[api-icmp]+="$dur "
            CPU[api-icmp]+="$M_CPU "
        else
            out="$TMP/icmp-$round.ping"
            measure_cmd "$out" "${ping_cmd[@]}"
            stats=$(grep -E 'packets transmitted' "$out") || die "cannot read ping's summary in $out"
            own=$(sed -nE 's/.*, time ([0-9]+)ms.*/\1/p' <<<"$stats")
            printf '%-5s %-13s %10s %10s %8s %6s  %s\n' "$round" "ping" "$M_WALL" "${own:--}" "$M_CPU" "$M_OTHER" \
                "$(sed -E 's/, time.*//' <<<"$stats")"
            WALL[ping-icmp]+="$M_WALL "
            OWN[ping-icmp]+="${own:-0} "
            CPU[ping-icmp]+="$M_CPU "
        fi
    done
done

echo
echo "(wall ms: the figure compared; own ms: the tool's own clock; cpu ms: CPU of that side - sockpit's process" \
     "plus curl, or nmap / ping; other: cores the rest of the machine used during the run, shown for runs of" \
     "${OTHER_MIN_WALL} s or more)"

# -------------------------------------------------------------------------------------------- summary
verdict() { # value op target -> "met" | "MISSED"
    awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? (v <= t) : (v == t); print (ok ? "met" : "MISSED") }'
}
MISSED=0
row() { # figure sockpit baseline ratio target verdict
    printf '%-46s %-16s %-16s %-7s %-12s %s\n' "$1" "$2" "$3" "$4" "$5" "$6"
    [[ $6 == MISSED* ]] && MISSED=1
    return 0
}
echo
echo "== Summary (medians over $ROUNDS rounds; ratio = sockpit / baseline, lower is faster)"
row figure sockpit baseline ratio target verdict
for range in $RANGES; do
    a=$(med1 "${WALL[api-$range]}"); b=$(med1 "${WALL[nmap-$range]}"); r=$(ratio "$a" "$b")
    row "TCP scan $range: wall ms (nmap -sT)" "$a" "$b" "$r" "<= ${TARGET_SCAN}x" "$(verdict "$r" "<=" "$TARGET_SCAN")"
    a=$(med1 "${PROCW[api-$range]}")
    row "  curl process wall (its start-up included)" "$a" "$b" "$(ratio "$a" "$b")" "-" "(info)"
    a=$(min1 "${WALL[api-$range]}"); b=$(min1 "${WALL[nmap-$range]}")
    row "  best round of each side (lowest wall ms)" "$a" "$b" "$(ratio "$a" "$b")" "-" "(info)"
    a=$(med1 "${OWN[api-$range]}"); b=$(med1 "${OWN[nmap-$range]}")
    row "  own clock: duration_ms / nmap 'scanned in'" "$a" "$b" "$(ratio "$a" "$b")" "-" "(info)"
    row "  sockpit wall - duration_ms (store+JSON+HTTP)" "$(med1 "${EXTRA[http-$range]}")" "-" "-" "-" \
        "(info; body $(awk -v s="${EXTRA[body-$range]}" 'BEGIN { printf "%.2f MB", s / 1e6 }')$(
            [[ $GET_PASS == 1 ]] && echo ", GET of the stored probe $(med1 "${EXTRA[get-$range]}") ms"))"
    row "  CPU ms (sockpit+curl / nmap)" "$(med1 "${CPU[api-$range]}")" "$(med1 "${CPU[nmap-$range]}")" \
        "$(ratio "$(med1 "${CPU[api-$range]}")" "$(med1 "${CPU[nmap-$range]}")")" "-" "(info)"
    vd=met
    ((${MISMATCH[$range]} == 0)) || vd=MISSED
    row "  ports with different verdicts, all rounds" "${MISMATCH[$range]}" "-" "-" "0" \
        "$vd (open: ${RANGE_OPEN[$range]}$( ((${TRANSIENT[$range]} > 0)) && echo "; ${TRANSIENT[$range]} transient not counted"))"
done
a=$(med1 "${WALL[api-icmp]}"); b=$(med1 "${WALL[ping-icmp]}"); r=$(ratio "$a" "$b")
row "ICMP $PING_COUNT echoes, interval 0: wall ms (ping)" "$a" "$b" "$r" "<= ${TARGET_ICMP}x" "$(verdict "$r" "<=" "$TARGET_ICMP")"
a=$(med1 "${PROCW[api-icmp]}")
row "  curl process wall (its start-up included)" "$a" "$b" "$(ratio "$a" "$b")" "-" "(info)"
a=$(med1 "${OWN[api-icmp]}"); b=$(med1 "${OWN[ping-icmp]}")
row "  own clock: duration_ms / ping 'time'" "$a" "$b" "$(ratio "$a" "$b")" "-" "(info; ping's has 1 ms steps)"
row "  CPU ms (sockpit+curl / ping)" "$(med1 "${CPU[api-icmp]}")" "$(med1 "${CPU[ping-icmp]}")" \
    "$(ratio "$(med1 "${CPU[api-icmp]}")" "$(med1 "${CPU[ping-icmp]}")")" "-" "(info)"
vd=met
((ICMP_BAD == 0)) || vd=MISSED
row "  received/sent, loss, every round" "$(tr ' ' '\n' <<<"${EXTRA[icmp-recv]}" | grep . | sort -u | paste -sd' ')" "-" "-" \
    "$PING_COUNT/$PING_COUNT,0%" "$vd"
if other_busy; then
    echo "WARNING: other work on the machine used up to $OTHER_MAX cores during a run: wall times are skewed," \
         "and not alike for both sides - rerun on a quiet machine"
fi
echo "(sockpit access log: $(wc -l <"$TMP/sockpit.err") lines on stderr)"

if [[ $STRICT == 1 && $MISSED == 1 ]]; then exit 3; fi
exit 0
