#!/usr/bin/env bash
# The README's three-host walk-through, run verbatim: its setup block makes three namespaces on a bridge, the
# built `sockpit` serves with --allow-netns them (on 127.0.0.1:8080 inside a fresh namespace of its own, so
# that the README's fixed port is free), and its curl block joins a group on two hosts, sends from the third,
# and pings across. Checks both receivers got the datagram and the ping answered; removes every namespace.
# Needs root; prints a figure line; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "skipped: network namespaces need root"; exit 0; fi
BIN="${SOCKPIT_BIN:-$(swift build --show-bin-path)/sockpit}"
WORK="$(mktemp -d)"; OUTER="sp-readme-$$"; SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  for h in sockpit-h1 sockpit-h2 sockpit-h3 sockpit-sw "$OUTER"; do ip netns del "$h" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
for h in sockpit-h1 sockpit-h2 sockpit-h3 sockpit-sw; do
  if ip netns list | grep -qw "$h"; then echo "namespace $h exists already: the walk-through would change it"; exit 1; fi
done
python3 - "$WORK" <<'PY'
import re, sys
text = open("README.md").read()
start = text.index("Sockets and probes can live on other hosts")
setup, walk = re.findall(r"```sh\n(.*?)```", text[start:], re.S)[:2]
run = [line for line in setup.splitlines() if "make run" in line]
assert len(run) == 1, run
open(f"{sys.argv[1]}/setup.sh", "w").write(setup.replace(run[0] + "\n", ""))
open(f"{sys.argv[1]}/walk.sh", "w").write(walk)
words = run[0].split()
open(f"{sys.argv[1]}/env", "w").write("\n".join(words[:words.index("make")]))  # SOCKPIT_ALLOW_NETNS=... SOCKPIT_RAW_PROTOCOLS=...
PY
bash -e "$WORK/setup.sh" || { echo "the README's setup block failed"; exit 1; }
ip netns add "$OUTER" && ip -n "$OUTER" link set lo up
mapfile -t SETTINGS <"$WORK/env"
env "${SETTINGS[@]}" ip netns exec "$OUTER" "$BIN" serve --data-dir "$WORK/data" 2>"$WORK/log" &
SERVER_PID=$!
for _ in $(seq 1 400); do
  ip netns exec "$OUTER" curl -sf localhost:8080/v1/health >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/log"; exit 1; }
  sleep 0.025
done
ip netns exec "$OUTER" bash "$WORK/walk.sh" >"$WORK/out" 2>&1
cat "$WORK/out"; echo
heard=$(grep -c '"data" : "hello, group"' "$WORK/out")
replies=$(grep -c '"state" : "reply"' "$WORK/out")
raw=$(python3 - "$WORK/out" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
# The walk-through prints JSON documents one after another: the raw receive is the one with an ip_header.
decoder, found, traced, at = json.JSONDecoder(), None, None, 0
while (start := text.find("{", at)) != -1:
    try:
        document, at = decoder.raw_decode(text, start)
    except ValueError:
        at = start + 1
        continue
    if isinstance(document, dict) and "ip_header" in document:
        found = document
    if isinstance(document, dict) and document.get("kind") == "traceroute":
        traced = document
h = (found or {}).get("ip_header", {})
raw_ok = (found or {}).get("data") == "hello, 253" and (h.get("src"), h.get("ttl"), h.get("id"), h.get("protocol")) == ("10.99.0.1", 7, 4242, 253)
hops = [(r.get("hop"), r.get("address"), r.get("state")) for r in (traced or {}).get("results", [])]
print("ok" if raw_ok and hops == [(1, "10.99.0.3", "reached")] else f"bad raw {found} trace {hops}")
PY
)
echo "figure: README walk-through: the group datagram from sockpit-h1 reached $heard of 2 members; ping from sockpit-h2 got $replies of 3 replies; raw 253 with a written header and a one-hop traceroute: $raw"
[ "$heard" = 2 ] && [ "$replies" = 3 ] && [ "$raw" = ok ]
