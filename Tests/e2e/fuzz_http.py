"""A mutational fuzzer for the request parser and the address, port-range and option parsers (issue 18).

Runs for SECONDS against a server at 127.0.0.1:PORT — inside a fresh network namespace with only loopback
(Tests/e2e/fuzz.sh makes it): the addresses it generates can reach nothing else. Each case is one of
  - a raw request: a valid request of the API, mutated at the byte level (flips, inserts, cuts, repeats,
    splices) in its request line, headers, framing and body;
  - a JSON request: a valid body for an operation that parses addresses, ports or options (create, bind,
    connect, send with `to`, option writes, probes), with fields replaced by hostile values — huge and negative
    integers, floats, deep nesting, long strings, NUL, non-ASCII, percent signs, address and port-range
    shapes.
Every answer must be a well-formed HTTP response or a closed connection; no 500 ever; every problem+json body
parses and carries the HTTP status, a title and a detail; the server stays alive, and GET /v1/health answers
between batches. Sockets the cases create are closed as it goes, so the limits are not what it tests.
Prints the counts and exits non-zero with the failing case written out. Usage: fuzz_http.py PORT SECONDS [SEED]
"""
import json
import random
import socket
import sys
import time

PORT = int(sys.argv[1])
SECONDS = float(sys.argv[2])
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time())
rng = random.Random(SEED)
WORKERS = 8

ADDRESS_SHAPES = [
    "127.0.0.1", "::1", "0.0.0.0", "::", "255.255.255.255", "127.0.0.1:80", "[::1]:80", "[::1", "::ffff:127.0.0.1",
    "fe80::1%lo", "fe80::1%999", "1.2.3", "1.2.3.4.5", "01.02.03.04", "0x7f.1", "256.1.1.1", "localhost", "",
    " ", "a" * 300, "%00", "\u0000", "\u00e9t\u00e9", "\ud83d\ude00".encode("utf-16", "surrogatepass").decode("utf-16"),
    "@abstract", "@", "/tmp/x", "../../etc/passwd", "x/" * 80, "sock\n", "10.0.0.0/8", "*",
]
PORT_SHAPES = [
    0, 1, 65535, 65536, -1, 2**31, 2**63 - 1, 2**63, 2**64, 1.5, "80", "1-65535", "65535-1", "1-", "-1", "1,,2",
    "1-2-3", " 80 ", "80,81,82" * 50, "0x50", "", [], [80, 80], [0], list(range(1, 1002)), None, True, {"a": 1},
]
HOSTILE = [
    None, True, False, 0, -1, 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**64, 10**30, -(10**30),
    0.5, -0.0, 1e308, "", " ", "\u0000", "a" * 5000, "%", "%zz", "\u202e", "\ud7ff", [], [[[[[[]]]]]], {}, {"": None},
]

OPERATIONS = [
    ("POST", "/v1/sockets", {"family": "inet", "type": "stream", "label": "fuzz"}),
    ("POST", "/v1/sockets", {"family": "unix", "type": "dgram"}),
    ("POST", "/v1/sockets", {"family": "inet6", "type": "dgram", "options": {"so_reuseaddr": True, "ip_ttl": 5}}),
    ("POST", "/v1/socketpairs", {"type": "stream"}),
    ("POST", "/v1/sockets/{id}/bind", {"address": {"host": "127.0.0.1", "port": 0}}),
    ("POST", "/v1/sockets/{id}/bind", {"address": {"path": "fuzz.sock"}}),
    ("POST", "/v1/sockets/{id}/bind", {"address": {"abstract": "fuzz"}}),
    ("POST", "/v1/sockets/{id}/connect", {"address": {"host": "127.0.0.1", "port": 9}, "timeout_ms": 50}),
    ("POST", "/v1/sockets/{id}/connect", {"address": {"host": "fe80::1", "port": 9, "scope_id": 1}, "timeout_ms": 50}),
    ("POST", "/v1/sockets/{id}/listen", {"backlog": 4}),
    ("POST", "/v1/sockets/{id}/send", {"data": "hi", "to": {"host": "127.0.0.1", "port": 9}}),
    ("POST", "/v1/sockets/{id}/send", {"data": "6869", "encoding": "hex", "flags": ["oob"]}),
    ("POST", "/v1/sockets/{id}/receive", {"max_bytes": 16, "timeout_ms": 10}),
    ("POST", "/v1/sockets/{id}/accept", {"timeout_ms": 10}),
    ("POST", "/v1/sockets/{id}/shutdown", {"how": "write"}),
    ("PATCH", "/v1/sockets/{id}/options", {"so_rcvbuf": 65536, "tcp_nodelay": True}),
    ("PATCH", "/v1/sockets/{id}/options", {"so_linger": {"enabled": True, "seconds": 1}, "so_broadcast": True}),
    ("POST", "/v1/probes", {"kind": "tcp", "target": "127.0.0.1", "ports": "1-20", "timeout_ms": 50}),
    ("POST", "/v1/probes", {"kind": "udp", "target": "::1", "ports": [53, 123], "timeout_ms": 50}),
    ("POST", "/v1/probes", {"kind": "icmp", "target": "127.0.0.1", "count": 1, "timeout_ms": 50, "interval_ms": 0}),
    ("POST", "/v1/probes", {"kind": "tcp", "target": "127.0.0.1", "ports": 9, "timeout_ms": 50,
                            "read_banner": True, "expect": {"regex": "^SSH-2\\.0-"}}),
    ("POST", "/v1/probes", {"kind": "unix", "target": "@fuzz", "timeout_ms": 50}),
    ("GET", "/v1/events?limit=5&op=create", None),
    ("GET", "/v1/sockets?limit=5&state=open", None),
    ("GET", "/v1/probes?limit=5", None),
    ("GET", "/v1/sockets/{id}", None),
    ("GET", "/v1/sockets/{id}/options", None),
    ("DELETE", "/v1/sockets/{id}", None),
]


class Failure(Exception):
    pass


def is_complete(data):
    """Whether `data` is a whole request by plain HTTP/1.1 framing: a head, and no body or a body of its one
    Content-Length. None when that cannot be said simply (chunked, several lengths, a length that is not a number).
    Empty lines before the request line are skipped, as RFC 9112 section 2.2 lets a server do (libmicrohttpd does)."""
    while data.startswith(b"\r\n"):
        data = data[2:]
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    if head.replace(b"\r\n", b"").count(b"\r") or head.replace(b"\r\n", b"").count(b"\n"):
        return None  # a bare CR or LF: where a parser ends its lines is its own choice
    lengths, chunked = [], False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            lengths.append(value.strip())
        elif name.strip().lower() == b"transfer-encoding":
            chunked = True
    if chunked or len(lengths) > 1:
        return None
    if not lengths:
        return True
    if not lengths[0].isdigit():
        return None
    return len(body) >= int(lengths[0])


def send_raw(data):
    """One request on a new connection: (status, headers, body); None when the server closed it unanswered;
    "waiting" when an incomplete request got no answer within a moment (the server waits for the rest, up to its
    request timeout). A complete request must be answered or closed within 4 s."""
    complete = is_complete(data)
    timeout = 0.3 if complete is False else 4.0
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading all of it
        s.settimeout(timeout)
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                if buf:
                    break  # an answer that keeps the connection open: judged as it is
                if complete:
                    raise Failure(f"a complete request got no answer and no close within {timeout} s")
                return "waiting"
            if not chunk:
                break
            buf += chunk
            if len(buf) > 8 << 20:
                raise Failure("an answer of more than 8 MiB")
    finally:
        s.close()
    if not buf:
        return None
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1."):
        raise Failure(f"not an HTTP response: {buf[:200]!r}")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise Failure(f"bad status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    if headers.get("content-length", "").isdigit():
        body = body[:int(headers["content-length"])]  # a kept-alive connection may carry the next answer too
    return int(parts[1]), headers, body


def dechunk(body):
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return out


def check_answer(answer):
    if answer is None or answer == "waiting":
        return answer or "closed"
    status, headers, body = answer
    if status >= 500 and status not in (501, 502, 503, 504, 505, 507):
        raise Failure(f"answered {status}: {body[:300]!r}")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    content_type = headers.get("content-type", "")
    if "application/problem+json" in content_type:
        try:
            problem = json.loads(body)
        except ValueError:
            raise Failure(f"a problem+json body that is not JSON: {body[:200]!r}")
        if problem.get("status") != status or not problem.get("title") or not problem.get("detail"):
            raise Failure(f"a problem without status {status}, title or detail: {problem}")
    elif status >= 400 and status not in (400, 413, 414, 431, 505):
        # Only libmicrohttpd's own answers (README: 400, 413, 414, 431, 505) may be other than problem+json.
        raise Failure(f"a {status} that is not problem+json ({content_type!r}): {body[:200]!r}")
    return status


def request_bytes(method, path, body, headers=None):
    payload = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    lines += headers or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def api(method, path, body=None):
    answer = send_raw(request_bytes(method, path, body))
    if not isinstance(answer, tuple):
        raise Failure(f"{method} {path}: closed unanswered")
    status, headers, payload = answer
    if headers.get("transfer-encoding", "").lower() == "chunked":
        payload = dechunk(payload)
    return status, json.loads(payload) if payload else None


def fresh_socket():
    kind = rng.choice([("inet", "stream"), ("inet", "dgram"), ("inet6", "stream"), ("unix", "stream"), ("unix", "dgram")])
    status, doc = api("POST", "/v1/sockets", {"family": kind[0], "type": kind[1]})
    return doc["id"] if status == 201 else "s_missing"


def hostile_value(key):
    if key in ("host", "target", "path", "abstract"):
        return rng.choice(ADDRESS_SHAPES + HOSTILE)
    if key in ("port", "ports", "scope_id"):
        return rng.choice(PORT_SHAPES + HOSTILE)
    if key == "regex":
        return rng.choice(["(", "a{99999}", "(a+)+$", "\\", "[z-a]", "(?P<x>a)", "\\p{Greek}", "a" * 3000] + HOSTILE)
    return rng.choice(HOSTILE + ADDRESS_SHAPES[:5] + PORT_SHAPES[:8])


def mutate_json(value, depth=0):
    if isinstance(value, dict):
        value = dict(value)
        for key in list(value):
            roll = rng.random()
            if roll < 0.3:
                value[key] = hostile_value(key)
            elif roll < 0.4:
                del value[key]
            elif roll < 0.6:
                value[key] = mutate_json(value[key], depth + 1)
        if rng.random() < 0.2:
            value[rng.choice(["to", "options", "expect", "unknown", "family", "type", "x" * 40])] = hostile_value("")
        return value
    if isinstance(value, list):
        return [mutate_json(item, depth + 1) for item in value] + ([hostile_value("")] if rng.random() < 0.3 else [])
    return hostile_value("") if rng.random() < 0.5 else value


def mutate_bytes(data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        position = rng.randrange(len(data) + 1)
        if roll < 0.25 and data:
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif roll < 0.45:
            data[position:position] = rng.choice([b"\r\n", b":", b" ", b"\x00", b"%", b"0", b"-", b"9" * 20, b"\t",
                                                  b"Content-Length: 3\r\n", b"Transfer-Encoding: chunked\r\n",
                                                  bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))])
        elif roll < 0.65 and data:
            end = min(len(data), position + rng.randint(1, 32))
            del data[position:end]
        elif roll < 0.85 and data:
            start = rng.randrange(len(data))
            piece = data[start:start + rng.randint(1, 64)]
            data[position:position] = piece * rng.randint(1, 4)
        else:
            data = data[:position]
    return bytes(data)


def one_case(socket_id):
    method, path, body = rng.choice(OPERATIONS)
    path = path.replace("{id}", rng.choice([socket_id, socket_id, "s_nope", "%2e%2e", "x" * 300, "", "%00"]))
    if rng.random() < 0.5 and body is not None:
        data = request_bytes(method, path, mutate_json(body))
        kind = "json"
    else:
        data = mutate_bytes(request_bytes(method, path, body))
        kind = "raw"
    return kind, data


def cleanup():
    status, doc = api("GET", "/v1/sockets?state=open&limit=1000")
    for item in (doc or {}).get("items", []):
        api("DELETE", f"/v1/sockets/{item['id']}")


def main():
    import threading
    started = time.monotonic()
    counts = {"cases": 0, "raw": 0, "json": 0, "closed": 0, "waiting": 0}
    statuses, closed_samples, failures = {}, [], []
    lock = threading.Lock()

    def worker(index):
        local = random.Random(SEED * 1000 + index)
        socket_id = fresh_socket()
        batch = 0
        while time.monotonic() - started < SECONDS and not failures:
            global rng
            with lock:
                rng = local  # the generators draw from this worker's stream (the lock keeps it whole per case)
                kind, data = one_case(socket_id)
            try:
                status = check_answer(send_raw(data))
            except Failure as failure:
                with lock:
                    failures.append((kind, failure, data))
                return
            with lock:
                counts["cases"] += 1
                counts[kind] += 1
                if status in ("closed", "waiting"):
                    counts[status] += 1
                    if status == "closed" and is_complete(data) and len(closed_samples) < 5:
                        closed_samples.append(data[:160])
                else:
                    statuses[status] = statuses.get(status, 0) + 1
            batch += 1
            if batch % 50 == 0:
                socket_id = fresh_socket()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for thread in workers:
        thread.start()
    last_cleanup = time.monotonic()
    while any(thread.is_alive() for thread in workers):
        time.sleep(0.5)
        status, doc = api("GET", "/v1/health")
        if status != 200:
            failures.append(("health", Failure(f"health answered {status}: {doc}"), b""))
            break
        if time.monotonic() - last_cleanup > 5:
            cleanup()
            last_cleanup = time.monotonic()
    for thread in workers:
        thread.join()
    if failures:
        kind, failure, data = failures[0]
        with open("fuzz-failure.bin", "wb") as out:
            out.write(data)
        print(f"FAIL (seed {SEED}, {kind}): {failure}")
        print(f"     request written to fuzz-failure.bin: {data[:300]!r}")
        return 1
    elapsed = time.monotonic() - started
    top = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(f"figure: fuzz (seed {SEED}, {WORKERS} clients): {counts['cases']} cases in {elapsed:.0f} s "
          f"({counts['raw']} byte-mutated, {counts['json']} JSON-mutated), {counts['closed']} closed unanswered, "
          f"{counts['waiting']} incomplete ones left waiting, no 500, every problem well formed; statuses {top}")
    for sample in closed_samples:
        print(f"     closed unanswered though complete: {sample!r}")
    return 0


sys.exit(main())
