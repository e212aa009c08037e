"""The README's walk-through done with the client openapi-python-client generated from openapi.yaml, and nothing
else for the requests: a TCP conversation, a port scan, an ICMP probe, a two-page event walk, the ndjson export,
errors read as typed Problems. Then every event of the run is checked against its op's schema in the contract
(`<Op>EventArgs`, `<Op>EventResult`) and every frame of the event stream against EventStreamFrame and Event.

usage: walk.py BASE_URL TOKEN SPEC  (the generated package `sockpit_client` on sys.path)
"""
import json
import sys

import yaml
import warnings
warnings.simplefilter("ignore", DeprecationWarning)
from jsonschema.validators import RefResolver  # noqa: E402 (openapi-schema-validator still takes a RefResolver)
from openapi_schema_validator import OAS30Validator

from sockpit_client import AuthenticatedClient
from sockpit_client.api.history import export_events, list_events, stream_events
from sockpit_client.api.probes import create_probe
from sockpit_client.api.sockets import (accept_socket, bind_socket, close_socket, connect_socket, create_socket,
                                        get_socket, get_socket_options, list_socket_events, listen_socket,
                                        receive_socket, send_socket, set_socket_options, shutdown_socket)
from sockpit_client.models import (AcceptRequest, BindRequest, ConnectRequest, CreateSocketRequest, EventOp,
                                   EventStreamFrame, InetAddress, ListenRequest, Problem, ProbeAttemptState,
                                   ProbeKind, ProbeRequest, ReceiveRequest, SendRequest, ShutdownHow,
                                   ShutdownRequest, Socket, SocketFamily, SocketOptionsPatch, SocketState,
                                   SocketType, SortOrder, Encoding)

base, token, spec_path = sys.argv[1:4]
client = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True, timeout=30)
checks = 0


def ok(condition, what):
    global checks
    if not condition:
        raise SystemExit(f"FAIL: {what}")
    checks += 1
    print(f"ok: {what}")


def new_socket(label=None):
    made = create_socket.sync(client=client, body=CreateSocketRequest(family=SocketFamily.INET, type_=SocketType.STREAM, label=label))
    ok(isinstance(made, Socket) and made.state == SocketState.CREATED, f"create -> Socket {getattr(made, 'id', made)}")
    return made


# The README's TCP conversation.
listener = new_socket("client-walk")
bound = bind_socket.sync(listener.id, client=client, body=BindRequest(address=InetAddress(host="127.0.0.1", port=0)))
port = bound.local_address.port
ok(bound.state == SocketState.BOUND and port > 0, f"bind 127.0.0.1:0 -> port {port}")
ok(listen_socket.sync(listener.id, client=client, body=ListenRequest(backlog=16)).state == SocketState.LISTENING, "listen")
talker = new_socket()
connected = connect_socket.sync(talker.id, client=client, body=ConnectRequest(address=InetAddress(host="localhost", port=port)))
ok(connected.state == SocketState.CONNECTED, "connect localhost")
accepted = accept_socket.sync(listener.id, client=client, body=AcceptRequest(timeout_ms=1000))
ok(isinstance(accepted, Socket) and accepted.parent_id == listener.id, "accept -> a new Socket")
sent = send_socket.sync(talker.id, client=client, body=SendRequest(data="hello"))
ok(sent.bytes_sent == 5, "send hello")
got = receive_socket.sync(accepted.id, client=client, body=ReceiveRequest(max_bytes=100, timeout_ms=1000))
ok(got.data == "hello" and got.encoding == Encoding.UTF8, "receive hello")
ok(shutdown_socket.sync(talker.id, client=client, body=ShutdownRequest(how=ShutdownHow.WRITE)).state == SocketState.WRITE_SHUTDOWN, "shutdown write")
ok(receive_socket.sync(accepted.id, client=client, body=ReceiveRequest(timeout_ms=1000)).eof is True, "receive -> eof")
options = get_socket_options.sync(accepted.id, client=client)
ok(options.tcp_info is not None and options.tcp_info.state.lower() == "close_wait", f"options with tcp_info (state {options.tcp_info.state}: the peer shut down writing)")
patched = set_socket_options.sync(talker.id, client=client, body=SocketOptionsPatch(tcp_nodelay=True))
ok(patched.tcp_nodelay is True, "PATCH tcp_nodelay")
history = list_socket_events.sync(talker.id, client=client, order=SortOrder.ASC)
ops = [event.op for event in history.items]
ok(ops[:5] == [EventOp.CREATE, EventOp.CONNECT, EventOp.SEND, EventOp.SHUTDOWN, EventOp.SETSOCKOPT], f"the talker's history {ops}")

# Two errors, read as typed Problems.
refused = new_socket()
missing_port = 1 if port != 1 else 2
problem = connect_socket.sync(refused.id, client=client, body=ConnectRequest(address=InetAddress(host="127.0.0.1", port=missing_port)))
ok(isinstance(problem, Problem) and problem.status == 502 and problem.errno == "ECONNREFUSED" and problem.type_.endswith("/network"),
   f"connect to a closed port -> Problem 502 ECONNREFUSED ({getattr(problem, 'detail', problem)})")
close_socket.sync_detailed(refused.id, client=client)
problem = bind_socket.sync(refused.id, client=client, body=BindRequest(address=InetAddress(host="127.0.0.1", port=0)))
ok(isinstance(problem, Problem) and problem.status == 409 and problem.state == SocketState.CLOSED,
   f"bind a closed socket -> Problem 409 with state {getattr(problem, 'state', None)!r}")
problem = get_socket.sync("sk_nosuchsocket", client=client)
ok(isinstance(problem, Problem) and problem.status == 404 and problem.type_.endswith("/not-found"), "unknown socket -> Problem 404")

# A scan of 1-1024 and the listener's port, and an ICMP probe.
scan = create_probe.sync(client=client, body=ProbeRequest(kind=ProbeKind.TCP, target="127.0.0.1", ports=f"1-1024,{port}"))
open_ports = [row.port for row in scan.results if row.state == ProbeAttemptState.OPEN]
ok(port in open_ports and scan.summary.open_ == len(open_ports) and scan.summary.open_ + scan.summary.closed + scan.summary.filtered == 1025,
   f"scan: open {open_ports}, closed {scan.summary.closed}")
echo = create_probe.sync(client=client, body=ProbeRequest(kind=ProbeKind.ICMP, target="127.0.0.1", count=3, interval_ms=50))
ok(not isinstance(echo, Problem) and echo.summary.received == 3 and [r.state for r in echo.results] == [ProbeAttemptState.REPLY] * 3,
   f"icmp 127.0.0.1 x3: {getattr(echo, 'summary', echo)}")

# A two-page walk of history and the ndjson export of the same events.
first = list_events.sync(client=client, order=SortOrder.ASC, limit=5)
second = list_events.sync(client=client, order=SortOrder.ASC, limit=5, cursor=first.next_cursor)
ids = [int(e.id) for e in first.items + second.items]
ok(len(ids) == 10 and ids == sorted(set(ids)), f"two pages of 5 events, ascending, no overlap: {ids}")
lines = export_events.sync(client=client, order=SortOrder.ASC, limit=10).splitlines()
ok([int(json.loads(line)["id"]) for line in lines] == ids, "the ndjson export has the same 10 events")

# Every event of the run against its op's schema in the contract.
spec = yaml.safe_load(open(spec_path))
schemas = spec["components"]["schemas"]
resolver = RefResolver.from_schema(spec)


def validate(instance, name):
    OAS30Validator({"$ref": f"#/components/schemas/{name}"}, resolver=resolver).validate(instance)


def pascal(op):
    return "".join(part.capitalize() for part in op.replace(".", "_").split("_"))


everything, cursor, counted = [], None, {}
while True:
    page = list_events.sync_detailed(client=client, order=SortOrder.ASC, limit=200, cursor=cursor if cursor else list_events.UNSET)
    body = json.loads(page.content)
    everything += body["items"]
    cursor = body.get("next_cursor")
    if not cursor:
        break
for event in everything:
    validate(event, "Event")
    for part in ("args", "result"):
        if event.get(part) is None:
            continue
        name = f"{pascal(event['op'])}Event{part.capitalize()}"
        ok_name = name in schemas
        if not ok_name:
            raise SystemExit(f"FAIL: event {event['id']} ({event['op']}) has {part} but the contract has no {name}")
        validate(event[part], name)
        counted[name] = counted.get(name, 0) + 1
ok(len(counted) >= 20, f"{len(everything)} events valid against Event and their op's schemas {sorted(counted)}")

# The event stream (the server ends it after --sse-max-duration-ms): each frame an EventStreamFrame, each data an Event.
text = stream_events.sync(client=client, after="0")
frames = []
for block in text.split("\n\n"):
    frame = {}
    for line in block.splitlines():
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        frame[field] = frame[field] + "\n" + value if field == "data" and field in frame else value
    if "data" in frame:
        frame.setdefault("event", "message")
        if "retry" in frame:
            frame["retry"] = int(frame["retry"])
        frames.append(frame)
for frame in frames:
    validate(frame, "EventStreamFrame")
    EventStreamFrame.from_dict(frame)
    if frame["event"] == "message":
        validate(json.loads(frame["data"]), "Event")
messages = [f for f in frames if f["event"] == "message"]
ok(len(messages) == len(everything) and frames[-1]["event"] == "end",
   f"the stream replayed {len(messages)} events, each a valid frame and Event, and ended with `end`")
print(f"generated client: {checks} checks passed")
