#!/usr/bin/env python3
"""Fills a migrated, empty Sockpit database with a realistic history, for bench/events_query.sh.

    events_fill.py DB [--events 1000000] [--sockets 20000] [--probes 300] [--days 20] [--seed 42]

Exactly --events rows go into `events`, ids ascending with `at` (as the server writes them), spread over the
last --days days (ending 10 minutes ago). Every socket is a closed session with its row in `sockets`; every
probe a finished run with its row in `probes` (the foreign keys hold; checked at the end). The shapes of
args/result/errno are those the server records (taken from a real run). Mix, by design:
  * sockets: 60 % TCP clients (create, connect, send/receive..., close), 25 % connected UDP, 10 % bound UDP
    servers (receive-heavy), 5 % TCP clients bound to a local port first; so `bind` is about 0.3 % of events;
  * events per socket: log-normal (most sockets a few dozen, some thousands), scaled to the exact total;
  * outcomes: about 3 % error (ECONNREFUSED, ECONNRESET, EPIPE, ...) and 1 % timeout (receives, a few
    connects); a few failed creates with no socket (socket_id NULL);
  * probes: probe.start and probe.finish each, interleaved with the sockets' traffic.
Deterministic for a given seed (the current time only shifts `at`). Prints one summary line.
"""
import argparse
import heapq
import json
import random
import sqlite3
import time

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def ident(prefix, at_us, rng):
    """An id shaped like the server's (prefix + 26 Crockford base32 characters, time first)."""
    ms = at_us // 1000
    head = "".join(ALPHABET[(ms >> (5 * k)) & 31] for k in range(9, -1, -1))
    return prefix + head + "".join(rng.choice(ALPHABET) for _ in range(16))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--sockets", type=int, default=20_000)
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--failed-creates", type=int, default=60)
    ap.add_argument("--days", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t_start = time.time()
    now = int(time.time() * 1e6)
    t1 = now - 600 * 1_000_000
    t0 = t1 - int(a.days * 86400 * 1e6)

    # ---- plan every socket: kind, fixed events, share of the body events, start, pace
    kinds = []
    for _ in range(a.sockets):
        r = rng.random()
        kinds.append("tcp" if r < 0.60 else "udp" if r < 0.85 else "udpserver" if r < 0.95 else "tcpbound")
    fixed = {"tcp": 3, "udp": 3, "udpserver": 3, "tcpbound": 4}  # create, [bind], [connect], close
    body_total = a.events - 2 * a.probes - a.failed_creates - sum(fixed[k] for k in kinds)
    if body_total < 0:
        raise SystemExit("too few events for that many sockets and probes")
    weights = [rng.lognormvariate(0, 1.0) for _ in kinds]
    scale = body_total / sum(weights)
    body = [int(w * scale) for w in weights]
    for _ in range(body_total - sum(body)):
        body[rng.randrange(a.sockets)] += 1

    span = t1 - t0
    starts = []  # (start, kind of subject, index)
    for i, k in enumerate(kinds):
        gap = rng.uniform(20_000, 3_000_000)  # µs between a socket's operations
        life = min(int((body[i] + fixed[k]) * gap), span // 4)
        starts.append((t0 + rng.randrange(span - life), "socket", i, life))
    for i in range(a.probes):
        life = rng.randrange(1_000, 30_000_000)
        starts.append((t0 + rng.randrange(span - life), "probe", i, life))
    for i in range(a.failed_creates):
        starts.append((t0 + rng.randrange(span), "failed", i, 0))
    starts.sort()

    db = sqlite3.connect(a.db, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    db.execute("BEGIN")
    if db.execute("SELECT count(*) FROM events").fetchone()[0]:
        raise SystemExit("the events table is not empty")

    payloads = [
        ("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: sockpit-bench\r\nAccept: */*\r\n\r\n", "utf8"),
        ('{"jsonrpc":"2.0","method":"ping","id":42}', "utf8"),
        ("PING\r\n", "utf8"),
        ("hello", "utf8"),
        ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1024\r\nConnection: keep-alive\r\n\r\n", "utf8"),
        ("00010203deadbeef" * 8, "hex"),
    ]

    def data_json(n):
        text, enc = payloads[rng.randrange(len(payloads))]
        if enc == "utf8":
            shown = text[:64].replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n")
            n = max(n, len(text))
        else:
            shown = text[:128]
        trunc = ',"preview_truncated":true' if n > 64 else ""
        return f'{{"bytes":{n},"preview":"{shown}","preview_encoding":"{enc}"{trunc}}}'

    def addr(host, port):
        return f'{{"host":"{host}","port":{port}}}'

    heap = []  # (at, seq, row)
    seq = 0
    socket_rows, probe_rows, event_rows = [], [], []
    inserted = 0
    counts = {}

    def push(at, row):
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (at, seq, row))

    def flush_events(force=False):
        nonlocal inserted
        if socket_rows:
            db.executemany(
                "INSERT INTO sockets (id, family, type, protocol, state, local_address, peer_address, created_at,"
                " closed_at, close_reason, bytes_sent, bytes_received, messages_sent, messages_received, updated_at)"
                " VALUES (?, ?, ?, ?, 'closed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", socket_rows)
            socket_rows.clear()
        if probe_rows:
            db.executemany(
                "INSERT INTO probes (id, kind, target, resolved_address, request, status, outcome, reason, phases,"
                " summary, started_at, finished_at, duration_us) VALUES (?, ?, ?, ?, ?, 'finished', ?, ?, ?, ?, ?, ?, ?)",
                probe_rows)
            probe_rows.clear()
        if event_rows and (force or len(event_rows) >= 20_000):
            db.executemany(
                "INSERT INTO events (at, socket_id, probe_id, op, outcome, errno, error_message, duration_us, args,"
                " result, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", event_rows)
            inserted += len(event_rows)
            event_rows.clear()

    def emit_until(limit):
        while heap and heap[0][0] < limit:
            at, _, row = heapq.heappop(heap)
            event_rows.append((at,) + row)
            key = (row[2], row[3])
            counts[key] = counts.get(key, 0) + 1
        flush_events()

    hosts = ["127.0.0.1", "10.0.0.7", "192.168.1.20", "::1"]
    for start, what, i, life in starts:
        emit_until(start)
        if what == "failed":
            push(start, (None, None, "create", "error", "EMFILE",
                         "socket failed: Too many open files (EMFILE)", 15,
                         '{"family":"inet","label":null,"protocol":"tcp","type":"stream"}', None, None))
            continue
        if what == "probe":
            pid = ident("pr_", start, rng)
            kind = rng.choice(["tcp", "tcp", "udp", "icmp"])
            target = rng.choice(hosts[:3])
            ports = rng.choice(["1-1024", "22,80,443", "53", "8000-8100"])
            request = (f'{{"concurrency":512,"count":1,"interval_ms":0,"kind":"{kind}","ports":"{ports}",'
                       f'"target":"{target}","timeout_ms":1000}}')
            r = rng.random()
            outcome = "success" if r < 0.6 else "partial" if r < 0.85 else "failure"
            reason = ('{"errno":"ECONNREFUSED","kind":"refused","message":"port 1 refused (connection refused)"}'
                      if outcome == "failure" else None)
            end = start + life
            probe_rows.append((pid, kind, target, target, request, outcome, reason,
                               f'{{"connect_ms":0.08,"resolve_ms":0.016,"total_ms":{life / 1000:.3f}}}',
                               '{"closed":3,"filtered":0,"open":1,"open_filtered":0}', start, end, life))
            push(start, (None, pid, "probe.start", "ok", None, None, None, request,
                         f'{{"kind":"{kind}","target":"{target}"}}', None))
            res = json.dumps({"outcome": outcome, **({"reason": reason} if reason else {})}, separators=(",", ":"))
            push(end, (None, pid, "probe.finish", "error" if outcome == "failure" else "ok", None, None, life,
                       None, res, None))
            continue

        kind = kinds[i]
        sid = ident("sk_", start, rng)
        stream = kind.startswith("tcp")
        proto = "tcp" if stream else "udp"
        host = rng.choice(hosts)
        port = rng.choice([80, 443, 53, 8080, 5432, 6379, 9000])
        local_port = rng.randrange(32768, 61000)
        local_host = "::1" if host == "::1" else "127.0.0.1"
        n = body[i] + fixed[kind]
        times = sorted(start + rng.randrange(max(life, 1)) for _ in range(n - 1))
        times.insert(0, start)
        sent = recv = msent = mrecv = 0
        t = iter(times)
        push(next(t), (sid, None, "create", "ok", None, None, rng.randrange(15, 60),
                       f'{{"family":"{"inet6" if host == "::1" else "inet"}","label":null,"protocol":"{proto}",'
                       f'"type":"{"stream" if stream else "dgram"}"}}', None, None))
        local = peer = None
        if kind in ("udpserver", "tcpbound"):
            bport = 0 if kind == "tcpbound" and rng.random() < 0.5 else rng.randrange(20000, 30000)
            local = addr(local_host, bport or local_port)
            push(next(t), (sid, None, "bind", "ok", None, None, rng.randrange(20, 80),
                           f'{{"address":{addr(local_host, bport)}}}', f'{{"local_address":{local}}}', None))
        if kind != "udpserver":
            at = next(t)
            r = rng.random()
            cargs = f'{{"address":{addr(host, port)},"timeout_ms":10000}}'
            if r < 0.04:
                push(at, (sid, None, "connect", "error", "ECONNREFUSED",
                          "connect failed: Connection refused (ECONNREFUSED)", rng.randrange(40, 400), cargs, None, None))
            elif r < 0.05 and stream:
                push(at, (sid, None, "connect", "timeout", None, None, 10_000_000 + rng.randrange(900),
                          cargs, '{"timed_out":true}', None))
            else:
                local = local or addr(local_host, local_port)
                peer = addr(host, port)
                push(at, (sid, None, "connect", "ok", None, None, rng.randrange(30, 2000), cargs,
                          f'{{"local_address":{local},"peer_address":{peer}}}', None))
        p_send = 0.2 if kind == "udpserver" else 0.5
        from_ = "" if stream else f',"from":{addr(host, port)}'
        for _ in range(body[i]):
            at = next(t)
            r = rng.random()
            if rng.random() < p_send:
                size = rng.choice([5, 6, 42, 78, 512, 1400])
                sargs = f'{{"data":{data_json(size)},"timeout_ms":10000}}'
                if r < 0.03:
                    errno = "EPIPE" if stream else "ECONNREFUSED"
                    msg = "Broken pipe" if stream else "Connection refused"
                    push(at, (sid, None, "send", "error", errno, f"send failed: {msg} ({errno})",
                              rng.randrange(10, 90), sargs, None, None))
                else:
                    sent += size
                    msent += 1
                    push(at, (sid, None, "send", "ok", None, None, rng.randrange(10, 90), sargs,
                              f'{{"bytes_sent":{size}}}', size))
            else:
                rargs = '{"max_bytes":4096,"oob":false,"peek":false,"timeout_ms":1000}'
                if r < 0.03:
                    push(at, (sid, None, "receive", "error", "ECONNRESET",
                              "receive failed: Connection reset by peer (ECONNRESET)", rng.randrange(10, 900),
                              rargs, None, None))
                elif r < 0.05:
                    push(at, (sid, None, "receive", "timeout", None, None, 1_000_000 + rng.randrange(2000),
                              rargs, '{"timed_out":true}', 0))
                else:
                    size = rng.choice([5, 17, 64, 300, 1024, 4096])
                    recv += size
                    mrecv += 1
                    push(at, (sid, None, "receive", "ok", None, None, rng.randrange(10, 5000), rargs,
                              f'{{"data":{data_json(size)},"eof":false{from_},"truncated":false}}', size))
        closed = next(t)
        reason = rng.choice(["client", "client", "client", "peer-closed", "server-shutdown"])
        push(closed, (sid, None, "close", "ok", None, None, rng.randrange(5, 30), None, f'{{"reason":"{reason}"}}',
                      None))
        socket_rows.append((sid, "inet6" if host == "::1" else "inet", "stream" if stream else "dgram", proto,
                            local, peer, start, closed, reason, sent, recv, msent, mrecv, closed))
    emit_until(1 << 62)
    flush_events(force=True)
    db.execute("COMMIT")
    bad = db.execute("SELECT count(*) FROM pragma_foreign_key_check('events')").fetchone()[0]
    total = db.execute("SELECT count(*) FROM events").fetchone()[0]
    db.close()
    if bad or total != a.events:
        raise SystemExit(f"fill failed: {total} events (wanted {a.events}), {bad} foreign-key violations")
    by_outcome = {}
    by_op = {}
    for (op, outcome), c in counts.items():
        by_outcome[outcome] = by_outcome.get(outcome, 0) + c
        by_op[op] = by_op.get(op, 0) + c
    ops = " ".join(f"{k}={v}" for k, v in sorted(by_op.items(), key=lambda kv: -kv[1]))
    outs = " ".join(f"{k}={100 * v / total:.2f}%" for k, v in sorted(by_outcome.items()))
    print(f"filled {total} events ({a.sockets} sockets, {a.probes} probes, {a.days:g} days) in "
          f"{time.time() - t_start:.1f} s; ops: {ops}; outcomes: {outs}")


if __name__ == "__main__":
    main()
