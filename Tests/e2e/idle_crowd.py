"""An idle crowd from one address cannot lock other clients out (issue 18).

Opens COUNT TCP connections from 127.0.0.1 to a running server that send nothing (the server closes those past
its per-client cap at once), then, while they are held, times GET /v1/health from 127.0.0.2 twenty times:
every answer must be 200 within 100 ms. Prints the figures. Usage: idle_crowd.py PORT [COUNT]
"""
import socket
import sys
import time
import http.client

port = int(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
crowd = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    crowd.append(s)
time.sleep(0.5)  # let the server accept (and shed) them
held = 0
for s in crowd:
    try:
        s.setblocking(False)
        if s.recv(1) == b"":
            continue  # closed by the server: past the cap
    except BlockingIOError:
        held += 1  # still open, idle
    except OSError:
        pass
worst = 0.0
for _ in range(20):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2, source_address=("127.0.0.2", 0))
    started = time.monotonic()
    conn.request("GET", "/v1/health")
    status = conn.getresponse().status
    elapsed = (time.monotonic() - started) * 1000
    conn.close()
    worst = max(worst, elapsed)
    if status != 200:
        print(f"health from 127.0.0.2 answered {status}")
        sys.exit(1)
for s in crowd:
    s.close()
print(f"figure: {count} idle connections from 127.0.0.1, {held} held open by the server; "
      f"health from 127.0.0.2: 20 of 20 answered, slowest {worst:.1f} ms")
sys.exit(0 if worst < 100 else 1)
