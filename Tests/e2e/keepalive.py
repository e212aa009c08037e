"""N concurrent keep-alive clients hammer GET /v1/health for D seconds.

Passes when there are zero errors and every client used exactly one TCP connection (the server never
closed a connection on it). Usage: keepalive.py HOST PORT CLIENTS SECONDS
"""
import http.client
import sys
import threading
import time

host, port, clients, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
results = []
lock = threading.Lock()
start_barrier = threading.Barrier(clients)


def worker():
    conn = http.client.HTTPConnection(host, port, timeout=10)
    requests = errors = 0
    sockets = set()
    start_barrier.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn.request("GET", "/v1/health")
            response = conn.getresponse()
            response.read()
            sockets.add(conn.sock.getsockname()[1])
            if response.status != 200 or response.getheader("Connection", "").lower() == "close":
                errors += 1
            requests += 1
        except Exception as error:  # noqa: BLE001 - every failure counts
            errors += 1
            print("error:", error)
            conn.close()
    conn.close()
    with lock:
        results.append((requests, errors, len(sockets)))


threads = [threading.Thread(target=worker) for _ in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
total = sum(r[0] for r in results)
errors = sum(r[1] for r in results)
connections = sum(r[2] for r in results)
print(f"clients={clients} seconds={seconds} requests={total} errors={errors} connections={connections} "
      f"rps={total / seconds:.0f}")
sys.exit(0 if errors == 0 and connections == clients and total > 0 else 1)
