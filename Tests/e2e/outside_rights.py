"""Sockets passed between the service and an outside process (issue 12): a plain Python process.

1. Python connects to a managed Unix listener and passes a UDP socket it bound; the service adopts it (a new id,
   inet/dgram, bound to Python's address) and receives a datagram sent to that address on the new id.
2. The service passes a managed TCP listener to Python, which accepts on it a connection a managed socket opened,
   and the two talk.
3. Python passes a pipe, a file, a pidfd and four UDP sockets in one message to a receive with max_rights 5: the
   three that are not sockets are closed and named by kind, two sockets are adopted, the two past max_rights are
   closed (ctrunc): none of them stays open in the service (/proc/PID/fd before and after).
4. Closing the socket that sent the listener to Python says, in its close event, that the listener went to
   this process (fate outside, peer_pid).
127.0.0.1 and the service's sockets directory only. Prints figures; exits non-zero on failure.
Usage: outside_rights.py PORT SERVER_PID
"""
import array
import json
import os
import socket
import sys
import urllib.request

U = f"http://127.0.0.1:{int(sys.argv[1])}"
SERVER_PID = int(sys.argv[2])


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

# 3. Non-sockets and more sockets than max_rights in one message: nothing the service does not keep stays open.
def service_fds():
    """The service's descriptors: their /proc/PID/fd link targets (socket:[inode], pipe:[inode], a path, ...)."""
    directory = f"/proc/{SERVER_PID}/fd"
    targets = []
    for name in os.listdir(directory):
        try:
            targets.append(os.readlink(f"{directory}/{name}"))
        except FileNotFoundError:
            pass  # closed while listed
    return targets


def descriptor_count():
    """The service's descriptors, less its HTTP connections (which come and go with each call made here)."""
    port = int(sys.argv[1])
    http = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{SERVER_PID}/net/{table}") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    http.add(f"socket:[{fields[9]}]")
    return len([target for target in service_fds() if target not in http])


def link(fd):
    return os.readlink(f"/proc/self/fd/{fd}")


read_end, write_end = os.pipe()
a_file = open(__file__, "rb")
pidfd = os.pidfd_open(os.getpid())
udps = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
passed_fds = [read_end, a_file.fileno(), pidfd] + [u.fileno() for u in udps]
passed_links = {link(fd) for fd in passed_fds}
before = descriptor_count()
outside.sendmsg([b"k"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", passed_fds))])
mixed = call("POST", f"/v1/sockets/{accepted}/receive", {"max_rights": 5, "timeout_ms": 2000})
kinds = [right.get("kind") for right in mixed.get("rights", [])]
if kinds != ["pipe", "file", "pidfd", "socket", "socket"] or mixed.get("ctrunc") is not True:
    sys.exit(f"a pipe, a file, a pidfd and four sockets with max_rights 5 answered: {mixed}")
if any(right.get("closed") != "not a socket" for right in mixed["rights"][:3]):
    sys.exit(f"the descriptors that are not sockets are not said closed: {mixed}")
kept = [right["socket_id"] for right in mixed["rights"][3:]]
held = passed_links & set(service_fds())
if held != {link(udps[0].fileno()), link(udps[1].fileno())}:
    sys.exit(f"the service holds {sorted(held)} of what Python passed; only the two adopted sockets may stay open")
for socket_id in kept:
    call("DELETE", f"/v1/sockets/{socket_id}", expect=204)
left_over = passed_links & set(service_fds())
after = descriptor_count()
if left_over or after != before:
    sys.exit(f"after closing the adopted sockets the service still holds {sorted(left_over)}; "
             f"descriptors {before} before, {after} after")

# 4. The listener went to this process: the close of the socket that sent it says so.
call("DELETE", f"/v1/sockets/{accepted}", expect=204)
events = call("GET", f"/v1/sockets/{accepted}/events?order=asc&limit=100")["items"]
closing = [event for event in events if event["op"] == "close"]
in_flight = (closing[-1].get("result") or {}).get("rights_in_flight") if closing else None
if in_flight != [{"socket_id": tcp, "from": accepted, "fate": "outside", "peer_pid": os.getpid()}]:
    sys.exit(f"the close of {accepted} does not say the listener went to this process: {closing}")
print(f"figure: a pipe, a file, a pidfd and 4 sockets passed with max_rights 5: kinds {kinds}, ctrunc, the service's "
      f"descriptors {before} before and {after} after; the listener's fate at the sender's close: outside, "
      f"peer_pid {os.getpid()}")
print(f"figure: Python passed a bound UDP socket (adopted as {adopted}, a datagram read on it); the service passed "
      f"listener {tcp} to Python, which accepted a managed client's connection on it")
