"""Fills the disk under a running server's data directory (a small tmpfs the caller mounted) and checks what a
full disk does: operations answer 507 problem+json before they act, reads keep answering, the service stays up,
and once space returns operations resume by themselves and nothing acknowledged is missing from history.

Usage: disk_full.py BASE_URL DATA_DIR FILLER_PATH
Exits 0 when every check holds; prints what it saw.
"""
import http.client
import json
import os
import sqlite3
import sys
import time
import urllib.parse

base, data_dir, filler = sys.argv[1], sys.argv[2], sys.argv[3]
url = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
failures = []


def call(method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, response.getheader("Content-Type"), (json.loads(data) if data else None)


def expect(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


acked = []  # (socket_id, op) answered 2xx
status, _, keeper = call("POST", "/v1/sockets", {"family": "inet", "type": "dgram", "label": "disk-full-keeper"})
assert status == 201, status
acked.append((keeper["id"], "create"))
status, _, _ = call("POST", f"/v1/sockets/{keeper['id']}/bind", {"address": {"host": "127.0.0.1", "port": 0}})
assert status == 200, status
acked.append((keeper["id"], "bind"))

def top_up():
    """Appends to the filler until the filesystem has no free block left (a checkpoint that truncated the WAL
    may have freed some since the last time)."""
    with open(filler, "ab", buffering=0) as f:  # unbuffered: nothing left to flush when the disk is full
        for size in (1 << 20, 1 << 12, 1):
            chunk = b"\0" * size
            try:
                while True:
                    f.write(chunk)
            except OSError:
                pass


top_up()
print(f"filler: {os.path.getsize(filler)} bytes")

# Operations go on until SQLite cannot write any more (the WAL may still have room at first).
first_507 = None
deadline = time.monotonic() + 60
count = 0
while time.monotonic() < deadline:
    status, ctype, body = call("POST", f"/v1/sockets/{keeper['id']}/send",
                               {"data": "x" * 200, "to": {"host": "127.0.0.1", "port": 9}})
    count += 1
    if status == 200:
        acked.append((keeper["id"], "send"))
        continue
    first_507 = (status, ctype, body)
    break
print(f"sends before the first refusal: {count}")
expect(first_507 is not None and first_507[0] == 507, f"a full disk answers 507 (got {first_507 and first_507[0]})")
if first_507:
    expect(first_507[1] == "application/problem+json", "the 507 is application/problem+json")
    expect(first_507[2].get("type", "").endswith("/insufficient-storage"), f"type insufficient-storage: {first_507[2]}")
    took_effect_send = first_507[2].get("took_effect") is True

# While full: refused before acting.
top_up()
status, _, body = call("DELETE", f"/v1/sockets/{keeper['id']}")
expect(status == 507 and body.get("took_effect") is False, f"DELETE while full: 507, took_effect false ({status} {body})")
status, _, body = call("GET", f"/v1/sockets/{keeper['id']}")
expect(status == 200 and body["state"] == "bound", f"the socket is still open after the refused DELETE ({status} {body and body.get('state')})")
top_up()
status, _, body = call("POST", "/v1/sockets", {"family": "inet", "type": "stream"})
expect(status == 507 and body.get("took_effect") is False, f"create while full: 507, took_effect false ({status})")
top_up()
status, _, body = call("POST", "/v1/probes", {"kind": "tcp", "target": "127.0.0.1", "ports": 9})
expect(status == 507 and body.get("took_effect") is False, f"probe while full: 507 before acting, took_effect false ({status} {body})")
status, _, _ = call("GET", "/v1/health")
expect(status == 200, f"health answers while full ({status})")
status, _, body = call("GET", "/v1/events?limit=5")
expect(status == 200 and len(body["items"]) >= 2, f"history reads answer while full ({status}, {len(body['items'])} events)")
status, _, body = call("GET", "/v1/sockets?limit=5")
expect(status == 200, f"socket list answers while full ({status})")

# Space returns: operations resume by themselves.
os.remove(filler)
resumed = None
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    status, _, body = call("POST", f"/v1/sockets/{keeper['id']}/send",
                           {"data": "after", "to": {"host": "127.0.0.1", "port": 9}})
    if status == 200:
        acked.append((keeper["id"], "send"))
        resumed = time.monotonic()
        break
    time.sleep(0.05)  # the writer retries every 200 ms; nothing to subscribe to from outside
expect(resumed is not None, "operations resume once space is freed")
status, _, _ = call("DELETE", f"/v1/sockets/{keeper['id']}")
expect(status == 204, f"DELETE after recovery: 204 ({status})")
acked.append((keeper["id"], "close"))

db = sqlite3.connect(os.path.join(data_dir, "sockpit.sqlite"))
recorded = {}
for socket_id, op in db.execute("SELECT socket_id, op FROM events WHERE outcome = 'ok'"):
    recorded[(socket_id, op)] = recorded.get((socket_id, op), 0) + 1
need = {}
for key in acked:
    need[key] = need.get(key, 0) + 1
missing = {k: v - recorded.get(k, 0) for k, v in need.items() if recorded.get(k, 0) < v}
expect(not missing, f"every 2xx operation is in history (acknowledged {len(acked)}, missing {missing})")
if first_507 and took_effect_send:
    expect(recorded.get((keeper["id"], "send"), 0) >= need[(keeper["id"], "send")] + 1,
           "the send that took effect while the disk filled is in history too")
state = db.execute("SELECT state, close_reason FROM sockets WHERE id = ?", (keeper["id"],)).fetchone()
expect(state == ("closed", "client"), f"history agrees with the kernel: {state}")
expect(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok")
sys.exit(1 if failures else 0)
