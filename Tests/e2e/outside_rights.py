"""Sockets passed between the service and an outside process (issue 12): a plain Python process.

1. Python connects to a managed Unix listener and passes a UDP socket it bound; the service adopts it (a new id,
   inet/dgram, bound to Python's address) and receives a datagram sent to that address on the new id.
2. The service passes a managed TCP listener to Python, which accepts on it a connection a managed socket opened,
   and the two talk.
127.0.0.1 and the service's sockets directory only. Prints figures; exits non-zero on failure. Usage: outside_rights.py PORT
"""
import array
import json
import os
import socket
import sys
import urllib.request

U = f"http://127.0.0.1:{int(sys.argv[1])}"


def call(method, path, body=None, expect=200):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(U + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    document = json.loads(text) if text else {}
    if status != expect:
        sys.exit(f"{method} {path} answered {status}, expected {expect}: {document}")
    return document


directory = call("GET", "/v1/capabilities")["unix_sockets_directory"]
listener = call("POST", "/v1/sockets", {"family": "unix", "type": "stream"}, 201)["id"]
call("POST", f"/v1/sockets/{listener}/bind", {"address": {"path": "outside-rights.sock"}})
call("POST", f"/v1/sockets/{listener}/listen", {"backlog": 4})
outside = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
outside.connect(f"{directory}/outside-rights.sock")
accepted_view = call("POST", f"/v1/sockets/{listener}/accept", {"timeout_ms": 2000}, 201)
accepted = accepted_view["id"]
if accepted_view.get("peer_credentials", {}).get("pid") != os.getpid():
    sys.exit(f"peer_credentials of the accepted connection are not this process: {accepted_view}")

# 1. Python passes a bound UDP socket; the service adopts it and reads a datagram on it.
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
outside.sendmsg([b"u"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [udp.fileno()]))])
received = call("POST", f"/v1/sockets/{accepted}/receive", {"max_rights": 1, "timeout_ms": 2000})
rights = received.get("rights") or []
if len(rights) != 1 or rights[0].get("kind") != "socket" or "socket_id" not in rights[0]:
    sys.exit(f"the UDP socket was not adopted: {received}")
adopted = rights[0]["socket_id"]
view = call("GET", f"/v1/sockets/{adopted}")
if (view["family"], view["type"], view["state"]) != ("inet", "dgram", "bound") or \
        view.get("local_address", {}).get("port") != udp.getsockname()[1]:
    sys.exit(f"the adopted socket is not Python's bound UDP socket: {view}")
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sender.sendto(b"to the adopted socket", udp.getsockname())
datagram = call("POST", f"/v1/sockets/{adopted}/receive", {"timeout_ms": 2000})
if datagram.get("data") != "to the adopted socket":
    sys.exit(f"no datagram on the adopted socket: {datagram}")
udp.close()

# 2. The service passes a managed TCP listener; Python accepts on it a connection a managed socket opened.
tcp = call("POST", "/v1/sockets", {"family": "inet", "type": "stream"}, 201)["id"]
port = call("POST", f"/v1/sockets/{tcp}/bind", {"address": {"host": "127.0.0.1", "port": 0}})["local_address"]["port"]
call("POST", f"/v1/sockets/{tcp}/listen", {"backlog": 4})
call("POST", f"/v1/sockets/{accepted}/send", {"data": "t", "rights": [tcp]})
outside.settimeout(5)
data, ancillary, _, _ = outside.recvmsg(16, socket.CMSG_SPACE(4 * 4))
descriptors = [fd for level, kind, payload in ancillary if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS
               for fd in array.array("i", payload[: len(payload) - len(payload) % 4])]
if data != b"t" or len(descriptors) != 1:
    sys.exit(f"Python did not receive the listener: data {data!r}, descriptors {descriptors}")
passed = socket.socket(fileno=descriptors[0])
client = call("POST", "/v1/sockets", {"family": "inet", "type": "stream"}, 201)["id"]
call("POST", f"/v1/sockets/{client}/connect", {"address": {"host": "127.0.0.1", "port": port}, "timeout_ms": 2000})
passed.setblocking(True)  # the service's copy made the shared open file non-blocking; wait here
passed.settimeout(5)
connection, _ = passed.accept()
connection.sendall(b"accepted by Python")
echoed = call("POST", f"/v1/sockets/{client}/receive", {"max_bytes": 64, "timeout_ms": 2000})
if echoed.get("data") != "accepted by Python":
    sys.exit(f"the managed client did not hear Python: {echoed}")
print(f"figure: Python passed a bound UDP socket (adopted as {adopted}, a datagram read on it); the service passed "
      f"listener {tcp} to Python, which accepted a managed client's connection on it")
