#!/usr/bin/env bash
# The traceroute probe against Debian's traceroute, in one run (issue 14): a routed chain of network namespaces
# a → r1 → r2 → c made here (forwarding on, no ICMP rate limit), then, alternating within each round,
#   A. `ip netns exec a traceroute -n -q 1 -N 16 C` (UDP, one probe per hop, 16 hops at once: its defaults but -q);
#   B. POST /v1/probes {"kind":"traceroute","method":"udp","count":1,"netns":"a","target":C} to a sockpit
#      started with --allow-netns for a;
# wall time of each (median of the rounds) and the hops each found, which must be the same. Target: sockpit at most
# 1.0x traceroute's wall time. Traffic stays in the namespaces made here; an EXIT trap removes them.
#
# Environment (all optional):
#   SOCKPIT_BIN=/path    use this sockpit binary instead of building (`swift build -c release --scratch-path .build-bench`)
#   BENCH_ROUNDS=20      measured rounds (each runs both sides once)
#   BENCH_TARGET=1.0     sockpit's wall time must be at most this times traceroute's
set -euo pipefail
BENCH_NAME=traceroute
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${BENCH_ROUNDS:-20}
TARGET=${BENCH_TARGET:-1.0}
[[ $(id -u) == 0 ]] || die "needs root (network namespaces)"
need_tools traceroute curl ip python3 awk
sockpit_binary --scratch-path "$REPO/.build-bench"
declare -A PID=()
make_tmp sockpit-traceroute
P="sptr$$"
NODES=("$P-a" "$P-r1" "$P-r2" "$P-c")
remove_chain() { for n in "${NODES[@]}"; do ip netns del "$n" 2>/dev/null || true; done; }
trap 'remove_chain; cleanup' EXIT

# The chain: link i (1..3) is 10.98.i.0/24 between node i-1 (.1) and node i (.2).
for n in "${NODES[@]}"; do
    ip netns add "$n"
    ip -n "$n" link set lo up
    ip netns exec "$n" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 0 > /proc/sys/net/ipv4/icmp_ratelimit'
done
for i in 1 2 3; do
    w=${NODES[$((i - 1))]} e=${NODES[$i]}
    ip -n "$w" link add east type veth peer name west netns "$e"
    ip -n "$w" addr add "10.98.$i.1/24" dev east && ip -n "$w" link set east up
    ip -n "$e" addr add "10.98.$i.2/24" dev west && ip -n "$e" link set west up
done
ip -n "${NODES[0]}" route add default via 10.98.1.2
ip -n "${NODES[1]}" route add default via 10.98.2.2
ip -n "${NODES[2]}" route add default via 10.98.2.1
ip -n "${NODES[3]}" route add default via 10.98.3.1
C=10.98.3.2

start_server sockpit sockpit "$SOCKPIT_BIN" serve --listen 127.0.0.1:@PORT@ --data-dir "$TMP/data" --allow-netns "${NODES[0]}" --log-level warning
U="http://127.0.0.1:${PORT[sockpit]}"

now_ns() { date +%s%N; }
# Each side's run writes its output to a file; only the run is timed, its parsing comes after.
run_traceroute() { ip netns exec "${NODES[0]}" traceroute -n -q 1 -N 16 "$C" >"$TMP/tr.out" 2>/dev/null; }
hops_traceroute() { awk 'NR > 1 { print $2 }' "$TMP/tr.out" | paste -sd' '; }
run_sockpit() {
    curl -s -m 60 -o "$TMP/sp.json" -H 'Content-Type: application/json' \
        -d "{\"kind\":\"traceroute\",\"method\":\"udp\",\"count\":1,\"max_hops\":30,\"timeout_ms\":5000,\"netns\":\"${NODES[0]}\",\"target\":\"$C\"}" \
        "$U/v1/probes?results=all"
}
hops_sockpit() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(r.get("address","*") for r in d["results"]), d["phases"]["total_ms"])' "$TMP/sp.json"
}

declare -a T_TR=() T_SP=() S_SP=() T_HEALTH=()
run_traceroute; run_sockpit   # warm-up: neighbour tables, the server's first probe
for ((r = 0; r < ROUNDS; r++)); do
    for side in $( ((r % 2)) && echo "sp tr" || echo "tr sp"); do
        t0=$(now_ns)
        if [[ $side == tr ]]; then run_traceroute; T_TR+=($((($(now_ns) - t0) / 1000)))
        else run_sockpit; T_SP+=($((($(now_ns) - t0) / 1000))); read -r -a parsed <<<"$(hops_sockpit)"; S_SP+=("${parsed[-1]}"); fi
    done
    # The floor of the API side: one curl of GET /v1/health (process start, connection, an answer from memory).
    t0=$(now_ns); curl -s -o /dev/null "$U/v1/health"; T_HEALTH+=($((($(now_ns) - t0) / 1000)))
done
# The API without the client's process start: the same POST on one keep-alive connection, ROUNDS times.
MED_KEEPALIVE=$(python3 - "${PORT[sockpit]}" "${NODES[0]}" "$C" "$ROUNDS" <<'PY'
import http.client, json, statistics, sys, time
port, netns, target, rounds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
body = json.dumps({"kind": "traceroute", "method": "udp", "count": 1, "max_hops": 30, "timeout_ms": 5000, "netns": netns, "target": target})
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
times = []
for _ in range(rounds):
    started = time.perf_counter()
    connection.request("POST", "/v1/probes", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    times.append((time.perf_counter() - started) * 1000)
    assert response.status == 201, response.status
print(f"{statistics.median(times):.1f}")
PY
)
HOPS_TR=$(hops_traceroute)
HOPS_SP=$(hops_sockpit | awk '{ $NF = ""; sub(/ $/, ""); print }')
MED_TR=$(awk -v us="$(med "${T_TR[*]}")" 'BEGIN { printf "%.1f", us / 1000 }')
MED_SP=$(awk -v us="$(med "${T_SP[*]}")" 'BEGIN { printf "%.1f", us / 1000 }')
MED_SERVER=$(med "${S_SP[*]}")
MED_HEALTH=$(awk -v us="$(med "${T_HEALTH[*]}")" 'BEGIN { printf "%.1f", us / 1000 }')
RATIO=$(awk -v s="$MED_SP" -v t="$MED_TR" 'BEGIN { printf "%.2f", (t > 0 ? s / t : 0) }')
RATIO_KEEPALIVE=$(awk -v s="$MED_KEEPALIVE" -v t="$MED_TR" 'BEGIN { printf "%.2f", (t > 0 ? s / t : 0) }')
echo "traceroute over a 3-hop chain of namespaces, UDP, one probe per hop, $ROUNDS rounds (median wall time):"
echo "  traceroute -n -q 1 -N 16 (Debian $(traceroute -V 2>&1 | awk '{ print $NF }' | head -1)): ${MED_TR} ms  hops: $HOPS_TR"
echo "  sockpit POST /v1/probes traceroute (curl):                ${MED_SP} ms  hops: $HOPS_SP  (the probe's own total_ms: $MED_SERVER)"
echo "  the same POST on a keep-alive connection (no client start): ${MED_KEEPALIVE} ms"
echo "  curl GET /v1/health alone (curl's own floor):          ${MED_HEALTH} ms"
echo "  ratio sockpit / traceroute: ${RATIO}x with curl, ${RATIO_KEEPALIVE}x keep-alive (target <= ${TARGET}x)"
[[ $HOPS_TR == "$HOPS_SP" ]] || die "the hops differ: traceroute '$HOPS_TR', sockpit '$HOPS_SP'"
awk -v r="$RATIO" -v t="$TARGET" 'BEGIN { exit !(r <= t) }' && echo "  verdict (with curl): met" || echo "  verdict (with curl): MISSED"
awk -v r="$RATIO_KEEPALIVE" -v t="$TARGET" 'BEGIN { exit !(r <= t) }' && echo "  verdict (keep-alive): met" || echo "  verdict (keep-alive): MISSED"
