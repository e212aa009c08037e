#!/usr/bin/env bash
# The host views against the tools they replace, in one run (issue 15), inside a network namespace made here:
#   1. GET /v1/host/sockets?protocol=tcp (every page, 1,000 a page, one keep-alive connection) against `ss -tanp`,
#      with BENCH_CONNECTIONS TCP connections open on loopback (a Python process holds both ends);
#   2. GET /v1/host/links against `ip -j link`.
# Also the floor of any walk that keeps nothing between pages: what one page costs whatever it holds (`limit=1`),
# the kernel's dump alone (`ss -tan`) and the owners scan (`ss -tanp` less `ss -tan`), each paid once a page.
# Median wall time of each over BENCH_ROUNDS rounds (sides alternating), the ratio, and the row counts, which
# must agree. Target: the sockets walk at most 2.0x ss's wall time.
#
# Environment (all optional):
#   SOCKPIT_BIN=/path       use this sockpit binary instead of building (`swift build -c release --scratch-path .build-bench`)
#   BENCH_CONNECTIONS=10000 TCP connections held open
#   BENCH_ROUNDS=5          measured rounds
#   BENCH_TARGET=2.0        the sockets walk's wall time must be at most this times ss's
set -euo pipefail
BENCH_NAME=host_views
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CONNECTIONS=${BENCH_CONNECTIONS:-10000}
ROUNDS=${BENCH_ROUNDS:-5}
TARGET=${BENCH_TARGET:-2.0}
[[ $(id -u) == 0 ]] || die "needs root (a network namespace of its own)"
need_tools ss ip curl python3 awk
sockpit_binary --scratch-path "$REPO/.build-bench"
declare -A PID=()
make_tmp sockpit-host-views
NS="sphv$$"
trap 'ip netns del "$NS" 2>/dev/null || true; cleanup' EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
# Each end of the connections in a process of its own (a process may hold 20,000 descriptors here at most):
# the server side listens and accepts CONNECTIONS, the client side makes them; both hold them until their stdin closes.
(( CONNECTIONS + 100 <= $(ulimit -Hn) )) || die "BENCH_CONNECTIONS $CONNECTIONS is more than ulimit -Hn $(ulimit -Hn) allows one process"
ulimit -Sn "$(ulimit -Hn)"
mkfifo "$TMP/hold"
cat >"$TMP/holder.py" <<'PY'
import socket, sys
side, count = sys.argv[1], int(sys.argv[2])
held = []
if side == "server":
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    print("port", listener.getsockname()[1], flush=True)
    for _ in range(count):
        held.append(listener.accept()[0])
else:
    port = int(sys.argv[3])
    for _ in range(count):
        held.append(socket.create_connection(("127.0.0.1", port)))
print("ready", flush=True)
sys.stdin.read()
PY
exec 3<>"$TMP/hold"   # read-write: opening never blocks, and the holders' stdin stays open until this script exits
ip netns exec "$NS" python3 "$TMP/holder.py" server "$CONNECTIONS" <"$TMP/hold" >"$TMP/server.out" &
PID[server_side]=$!
for ((i = 0; i < 100; i++)); do grep -q port "$TMP/server.out" 2>/dev/null && break; sleep 0.1; done
LISTEN_PORT=$(awk '$1 == "port" { print $2 }' "$TMP/server.out")
[[ -n $LISTEN_PORT ]] || die "the listener did not start"
ip netns exec "$NS" python3 "$TMP/holder.py" client "$CONNECTIONS" "$LISTEN_PORT" <"$TMP/hold" >"$TMP/holder.out" &
PID[client_side]=$!
for ((i = 0; i < 1200; i++)); do grep -q ready "$TMP/holder.out" 2>/dev/null && grep -q ready "$TMP/server.out" && break; sleep 0.1; done
grep -q ready "$TMP/holder.out" || die "the connections were not made"

# The service runs in this namespace and reads NS's through --allow-netns (?netns=), as a user would point it at one.
start_server sockpit sockpit "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/data" --log-level warning --allow-netns "$NS"
walk() { # path: every page on one keep-alive connection; prints milliseconds and rows
    python3 - "${PORT[sockpit]}" "$1" <<'PY'
import http.client, json, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
started, rows, cursor = time.perf_counter(), 0, None
while True:
    connection.request("GET", path + ("&cursor=" + cursor if cursor else ""))
    page = json.loads(connection.getresponse().read())
    rows += len(page["items"])
    cursor = page.get("next_cursor")
    if not cursor:
        break
print(f"{(time.perf_counter() - started) * 1000:.1f} {rows}")
PY
}
now_ns() { date +%s%N; }
declare -a T_SS=() T_SP=() T_IP=() T_LINKS=() T_DUMP=() T_ONE=()
ROWS_SS=0 ROWS_SP=0 ROWS_IP=0 ROWS_LINKS=0
for ((r = 0; r < ROUNDS; r++)); do
    t0=$(now_ns); ROWS_SS=$(ip netns exec "$NS" ss -Htanp | wc -l); T_SS+=($((($(now_ns) - t0) / 1000)))
    read -r ms ROWS_SP <<<"$(walk "/v1/host/sockets?protocol=tcp&limit=1000&netns=$NS")"; T_SP+=("${ms%.*}000")
    t0=$(now_ns); ROWS_IP=$(ip netns exec "$NS" ip -j link | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'); T_IP+=($((($(now_ns) - t0) / 1000)))
    read -r ms ROWS_LINKS <<<"$(walk "/v1/host/links?limit=1000&netns=$NS")"; T_LINKS+=("${ms%.*}000")
    t0=$(now_ns); ip netns exec "$NS" ss -Htan >/dev/null; T_DUMP+=($((($(now_ns) - t0) / 1000)))
    t0=$(now_ns); curl -sf -o /dev/null "http://127.0.0.1:${PORT[sockpit]}/v1/host/sockets?protocol=tcp&limit=1&netns=$NS"
    T_ONE+=($((($(now_ns) - t0) / 1000)))
done
ms_of() { awk -v us="$(med "$1")" 'BEGIN { printf "%.1f", us / 1000 }'; }
SS=$(ms_of "${T_SS[*]}") SP=$(ms_of "${T_SP[*]}") IP=$(ms_of "${T_IP[*]}") LINKS=$(ms_of "${T_LINKS[*]}")
DUMP=$(ms_of "${T_DUMP[*]}") ONE=$(ms_of "${T_ONE[*]}")
PAGES=$(( (ROWS_SP + 999) / 1000 ))
RATIO=$(awk -v a="$SP" -v b="$SS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "host views, $CONNECTIONS TCP connections on loopback in a namespace, $ROUNDS rounds (median wall time):"
echo "  ss -tanp:                                         $SS ms  ($ROWS_SS rows)"
echo "  GET /v1/host/sockets?protocol=tcp, every page:    $SP ms  ($ROWS_SP rows)   ratio ${RATIO}x (target <= ${TARGET}x)"
echo "  floor of a walk that keeps nothing between pages ($PAGES pages of 1,000):"
echo "    one page of one row (limit=1, curl):            $ONE ms   x $PAGES pages = $(awk -v a="$ONE" -v n="$PAGES" 'BEGIN { printf "%.0f", a * n }') ms"
echo "    the kernel's dump alone (ss -tan):              $DUMP ms   x $PAGES pages = $(awk -v a="$DUMP" -v n="$PAGES" 'BEGIN { printf "%.0f", a * n }') ms"
echo "    the owners scan (ss -tanp less ss -tan):        $(awk -v a="$SS" -v b="$DUMP" 'BEGIN { printf "%.1f", a - b }') ms   x $PAGES pages = $(awk -v a="$SS" -v b="$DUMP" -v n="$PAGES" 'BEGIN { printf "%.0f", (a - b) * n }') ms"
echo "    the target, ${TARGET}x ss -tanp:                      $(awk -v a="$SS" -v t="$TARGET" 'BEGIN { printf "%.0f", a * t }') ms"
echo "  ip -j link (with its JSON parsed):                $IP ms  ($ROWS_IP links)"
echo "  GET /v1/host/links:                               $LINKS ms  ($ROWS_LINKS links)"
awk -v r="$RATIO" -v t="$TARGET" 'BEGIN { exit !(r <= t) }' && echo "  verdict: met" || echo "  verdict: MISSED"
