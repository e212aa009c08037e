#!/usr/bin/env bash
# The target policy when the API listens beyond loopback (issue 18, "policy gaps"), run by the built `sockpit`
# inside a fresh network namespace: the service listens with a token on 198.18.0.1 (one end of a veth pair, RFC 2544
# space; nothing leaves the namespace), and a host service listens on an abstract Unix name and on UDP.
# Checks: connect to the abstract name is 403 and the host service sees no connection; a subnet broadcast, the
# limited broadcast and the host's own address are 403 for a UDP send with so_broadcast on; --allow-abstract
# lets a named prefix through.
# Needs root (CI runs as root); prints "ok"/"FAIL" lines and "N passed, N failed"; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
  echo "skipped: network namespaces need root"; echo "policy_netns: 0 passed, 0 failed"; exit 0
fi
BIN="${SOCKPIT_BIN:-$(swift build --show-bin-path)/sockpit}"
NS="sp-policy-$$"
WORK="$(mktemp -d)"
TOKEN="policy-$$"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
. Tests/e2e/check.sh
in_ns() { ip netns exec "$NS" "$@"; }
api() { # api PORT METHOD PATH [JSON] -> body on stdout, status in $WORK/status
  in_ns curl -s -o "$WORK/body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $TOKEN" \
    ${4:+-H 'Content-Type: application/json' -d "$4"} "http://198.18.0.1:$1$3" >"$WORK/status"
  cat "$WORK/body"; echo; echo "HTTP $(cat "$WORK/status")"
}
field() { python3 -c "import json,sys; print(json.load(open('$WORK/body'))$1)"; }
start() { # start PORT [ARGS...]
  local port="$1"; shift
  ip netns exec "$NS" "$BIN" serve --listen "198.18.0.1:$port" --token "$TOKEN" --data-dir "$WORK/data-$port" "$@" 2>>"$WORK/server-$port.log" &
  PIDS+=("$!")
  for _ in $(seq 1 200); do
    in_ns curl -sf "http://198.18.0.1:$port/v1/health" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  cat "$WORK/server-$port.log"; return 1
}

ip netns add "$NS" && in_ns ip link set lo up && in_ns ip link add v0 type veth peer name v1 && in_ns ip addr add 198.18.0.1/24 dev v0 \
  && in_ns ip link set v0 up && in_ns ip link set v1 up || { echo "FAIL - cannot make network namespace $NS"; exit 1; }
# The host service: an abstract Unix listener that counts its connections.
ip netns exec "$NS" python3 - "$WORK/abstract.count" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0sp-policy-secret")
s.listen(8)
open(sys.argv[1], "w").write("ready\n")
while True:
    c, _ = s.accept()
    open(sys.argv[1], "a").write("connection\n")
    c.sendall(b"secret")
    c.close()
PY
PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$WORK/abstract.count" ] && break; sleep 0.05; done
start 8080 || { echo "FAIL - the server did not start"; exit 1; }
start 8081 --allow-abstract sp-policy- || { echo "FAIL - the second server did not start"; exit 1; }

t_abstract() {
  api 8080 POST /v1/sockets '{"family":"unix","type":"stream"}'; local id; id=$(field "['id']")
  api 8080 POST "/v1/sockets/$id/connect" '{"address":{"abstract":"sp-policy-secret"}}'
  [ "$(cat "$WORK/status")" = 403 ] && ! grep -q connection "$WORK/abstract.count"
}
check "beyond loopback, connect to a host's abstract Unix name is 403 and the host service sees nothing" t_abstract
t_abstract_allowed() {
  api 8081 POST /v1/sockets '{"family":"unix","type":"stream"}'; local id; id=$(field "['id']")
  api 8081 POST "/v1/sockets/$id/connect" '{"address":{"abstract":"sp-policy-secret"}}'
  [ "$(cat "$WORK/status")" = 200 ] || return 1
  api 8081 POST "/v1/sockets/$id/receive" '{"timeout_ms":2000}'
  grep -q '"data" : "secret"' "$WORK/body" && grep -q connection "$WORK/abstract.count"
}
check "with --allow-abstract sp-policy-, the same connect goes through and reads the host service" t_abstract_allowed
t_broadcast() {
  api 8080 POST /v1/sockets '{"family":"inet","type":"dgram","options":{"so_broadcast":true}}'; local id to; id=$(field "['id']")
  for to in 198.18.0.255 255.255.255.255 198.18.0.1 127.0.0.1; do
    api 8080 POST "/v1/sockets/$id/send" "{\"data\":\"x\",\"to\":{\"host\":\"$to\",\"port\":9999}}"
    [ "$(cat "$WORK/status")" = 403 ] || { echo "send to $to was not refused"; return 1; }
  done
}
check "beyond loopback, UDP sends to the subnet broadcast, the limited broadcast, the host's own address and loopback are 403" t_broadcast

echo "policy_netns: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
