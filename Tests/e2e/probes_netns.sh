#!/usr/bin/env bash
# Probes of a host that is not there, run by the built `sockpit` binary inside a fresh network namespace:
# 198.18.0.0/24 (RFC 2544 benchmarking space) sits on an interface with no host behind it, so packets to
# 198.18.0.99 are dropped without any answer (no RST, no ICMP), and nothing leaves the namespace.
# Checks: TCP to it is filtered by timeout, ICMP echo to it is all timeouts with 100 % loss, UDP to it is
# open|filtered, and TCP on the namespace's loopback tells open (the service's own port) from closed.
# Needs root (CI runs as root); prints "ok"/"FAIL" lines and "N passed, N failed"; exits non-zero on failure.
# The binary: $SOCKPIT_BIN, else the debug build in $SOCKPIT_SCRATCH (default .build-probe-e2e).
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" != 0 ]; then
  echo "skipped: network namespaces need root"
  echo "probes_netns: 0 passed, 0 failed"
  exit 0
fi

BIN="${SOCKPIT_BIN:-$(swift build --scratch-path "${SOCKPIT_SCRATCH:-.build-probe-e2e}" --show-bin-path)/sockpit}"
[ -x "$BIN" ] || { echo "FAIL - no sockpit binary at $BIN"; echo "probes_netns: 0 passed, 1 failed"; exit 1; }
NS="sp-probe-$$"
WORK="$(mktemp -d)"
PORT=8080          # the namespace is new: nothing listens on any port but the service's
CLOSED_PORT=8081
ABSENT=198.18.0.99
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

. Tests/e2e/check.sh
in_ns() { ip netns exec "$NS" "$@"; }
# probe JSON [PORT] -> writes the answer to $WORK/answer.json and its status code to $WORK/status
probe() { # probe JSON [PORT]
  in_ns curl -s -o "$WORK/answer.json" -w '%{http_code}' -H 'Content-Type: application/json' -d "$1" \
    "http://127.0.0.1:${2:-$PORT}/v1/probes?results=all" >"$WORK/status"
  echo "HTTP $(cat "$WORK/status")"
}
# expect PYTHON-ASSERTIONS: run against the last answer as `p` (the probe) and `status` (the HTTP code)
expect() {
  python3 - "$WORK/answer.json" "$(cat "$WORK/status")" "$1" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); status = int(sys.argv[2])
rows = p.get("results") or []
summary = p.get("summary") or {}
reason = p.get("reason") or {}
brief = {k: p.get(k) for k in ("status", "outcome", "duration_ms", "reason", "summary") if k in p}
brief["results"] = [{k: r.get(k) for k in ("port", "sequence", "state", "errno", "rtt_ms") if k in r} for r in rows]
for line in sys.argv[3].strip().splitlines():
    assert eval(line), f"failed: {line.strip()}\n{json.dumps(brief if 'id' in p else p)}"
PY
}

# --- the namespace: loopback, and 198.18.0.1/24 on an interface with nothing behind it --------------------
setup() {
  ip netns add "$NS" || return 1
  ip -n "$NS" link set lo up || return 1
  if ip -n "$NS" link add d0 type dummy 2>/dev/null; then
    echo "d0: dummy"
  else
    # Kernels without the dummy driver: a bridge with no ports and ARP off drops what it is given just the
    # same (no neighbour to resolve, so no EHOSTUNREACH after ARP gives up either).
    ip -n "$NS" link add d0 type bridge && ip -n "$NS" link set d0 arp off || return 1
    echo "d0: bridge with no ports, arp off (no dummy driver in this kernel)"
  fi
  ip -n "$NS" addr add 198.18.0.1/24 dev d0 && ip -n "$NS" link set d0 up || return 1
  ip -n "$NS" addr && ip -n "$NS" route
}
check "a fresh namespace $NS with lo up and 198.18.0.1/24 on d0" setup
[ "$failed" = 0 ] || { echo "probes_netns: $passed passed, $failed failed"; exit 1; }

start_server() { # start_server PORT DATADIR [ARGS...] -> SERVER_PID
  local port="$1" dir="$2"; shift 2
  # Not through in_ns: a backgrounded shell function is a subshell, and $! would be its pid, not the server's.
  # `ip netns exec` enters the namespace and execs the command, so $! is the server itself.
  ip netns exec "$NS" "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$dir" "$@" 2>>"$WORK/server.log" &
  SERVER_PID=$!
  for _ in $(seq 1 400); do
    [ "$(readlink "/proc/$SERVER_PID/exe" 2>/dev/null)" = "$(readlink -f "$BIN")" ] || { sleep 0.025; continue; }
    in_ns curl -sf "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; return 1; }
    sleep 0.025
  done
  cat "$WORK/server.log"; return 1
}
check "sockpit serve starts inside the namespace on 127.0.0.1:$PORT" start_server "$PORT" "$WORK/data"
[ "$failed" = 0 ] || { echo "probes_netns: $passed passed, $failed failed"; exit 1; }

# --- probes ------------------------------------------------------------------------------------------------
t_tcp_filtered() {
  probe "{\"kind\":\"tcp\",\"target\":\"$ABSENT\",\"ports\":80,\"timeout_ms\":300}"
  expect '
status == 201 and p["status"] == "finished"
p["resolved_address"] == "'"$ABSENT"'"
[r["state"] for r in rows] == ["filtered"] and rows[0]["port"] == 80
rows[0].get("errno") == "ETIMEDOUT" and rows[0].get("rtt_ms") is None
p["outcome"] == "failure" and reason["kind"] == "timeout" and reason.get("errno") == "ETIMEDOUT"
summary["filtered"] == 1 and summary["open"] == 0 and summary["closed"] == 0
300 <= p["duration_ms"] < 3000
'
}
check "tcp $ABSENT:80 timeout_ms 300 -> filtered (ETIMEDOUT), outcome failure, reason timeout" t_tcp_filtered

t_icmp_timeouts() {
  probe "{\"kind\":\"icmp\",\"target\":\"$ABSENT\",\"count\":3,\"interval_ms\":100,\"timeout_ms\":300}"
  expect '
status == 201 and p["status"] == "finished"
[r["sequence"] for r in rows] == [1, 2, 3]
all(r["state"] == "timeout" and r.get("rtt_ms") is None for r in rows)
summary["sent"] == 3 and summary["received"] == 0 and summary["loss_percent"] == 100
"rtt_min_ms" not in summary and "rtt_avg_ms" not in summary
p["outcome"] == "failure" and reason["kind"] == "timeout"
500 <= p["duration_ms"] < 3000
'
}
check "icmp $ABSENT count 3 interval_ms 100 timeout_ms 300 -> 3 timeouts, loss_percent 100, outcome failure" t_icmp_timeouts

t_udp_silence() {
  probe "{\"kind\":\"udp\",\"target\":\"$ABSENT\",\"ports\":53,\"payload\":\"x\",\"timeout_ms\":300}"
  expect '
status == 201
[r["state"] for r in rows] == ["open|filtered"]
p["outcome"] == "failure" and reason["kind"] == "timeout" and summary["open_filtered"] == 1
'
}
check "udp $ABSENT:53 timeout_ms 300 -> open|filtered, reason timeout" t_udp_silence

t_loopback_open_closed() {
  probe "{\"kind\":\"tcp\",\"target\":\"127.0.0.1\",\"ports\":[$PORT,$CLOSED_PORT],\"timeout_ms\":1000}"
  expect '
status == 201
[(r["port"], r["state"]) for r in rows] == [('"$PORT"', "open"), ('"$CLOSED_PORT"', "closed")]
rows[1]["errno"] == "ECONNREFUSED" and all(0 < r["rtt_ms"] < 1000 for r in rows)
p["outcome"] == "partial" and reason["kind"] == "refused" and reason["errno"] == "ECONNREFUSED"
summary["open"] == 1 and summary["closed"] == 1
'
}
check "tcp 127.0.0.1 ports [$PORT (the service), $CLOSED_PORT] -> open / closed (ECONNREFUSED), outcome partial" t_loopback_open_closed

t_listed() {
  in_ns curl -s -o "$WORK/answer.json" -w '%{http_code}' "http://127.0.0.1:$PORT/v1/probes?target=$ABSENT" >"$WORK/status"
  expect '
status == 200
[(i["kind"], i["outcome"]) for i in p["items"]] == [("udp", "failure"), ("icmp", "failure"), ("tcp", "failure")]
'
}
check "GET /v1/probes?target=$ABSENT lists the three, newest first, all failures" t_listed

t_stored() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; local code=$?; SERVER_PID=""
  echo "server exit $code"; [ "$code" = 0 ] || return 1
  python3 - "$WORK/data/sockpit.sqlite" "$ABSENT" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT kind, status, outcome, json_extract(reason, '$.kind') FROM probes WHERE target = ? ORDER BY seq",
                  (sys.argv[2],)).fetchall()
print(rows)
assert rows == [("tcp", "finished", "failure", "timeout"), ("icmp", "finished", "failure", "timeout"),
                ("udp", "finished", "failure", "timeout")], rows
states = db.execute("SELECT p.kind, r.state FROM probe_results r JOIN probes p ON p.id = r.probe_id WHERE p.target = ? ORDER BY r.id",
                    (sys.argv[2],)).fetchall()
print(states)
assert states == [("tcp", "filtered"), ("icmp", "timeout"), ("icmp", "timeout"), ("icmp", "timeout"), ("udp", "open|filtered")], states
events = db.execute("SELECT count(*) FROM events WHERE op IN ('probe.start', 'probe.finish')").fetchone()[0]
assert events == 8, f"probe events: {events}"
PY
}
check "after SIGTERM (exit 0) the probes, their rows and their events are in SQLite" t_stored

# --- the probe deadline (--probe-deadline 1): a probe ends after it, keeping what it has -------------------
DEADLINE_PORT=8082
check "sockpit serve --probe-deadline 1 starts inside the namespace on 127.0.0.1:$DEADLINE_PORT" \
  start_server "$DEADLINE_PORT" "$WORK/deadline" --probe-deadline 1

t_deadline_icmp() {
  probe "{\"kind\":\"icmp\",\"target\":\"$ABSENT\",\"count\":10,\"interval_ms\":300,\"timeout_ms\":300}" "$DEADLINE_PORT"
  expect '
status == 201 and p["status"] == "finished" and p["outcome"] == "failure"
950 <= p["duration_ms"] < 1600
[r["state"] for r in rows[:3]] == ["timeout"] * 3 and all(r.get("errno") is None for r in rows[:3])
'
}
check "with --probe-deadline 1, icmp $ABSENT count 10 every 300 ms ends at about 1 s, keeping the echoes that timed out" t_deadline_icmp

t_deadline_interval() {
  probe "{\"kind\":\"tcp\",\"target\":\"127.0.0.1\",\"ports\":$DEADLINE_PORT,\"count\":2,\"interval_ms\":5000}" "$DEADLINE_PORT"
  expect '
status == 201 and p["status"] == "finished"
[r["state"] for r in rows] == ["open"]
p["duration_ms"] < 2000
'
}
check "with --probe-deadline 1, tcp count 2 interval_ms 5000 ends at the deadline with its one attempt, not after the 5 s pause" t_deadline_interval

echo "probes_netns: $passed passed, $failed failed"
[ "$failed" = 0 ]
