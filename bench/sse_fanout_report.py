#!/usr/bin/env python3
"""The arithmetic of bench/sse_fanout.sh: reads what bench/sse_fanout.c wrote for one or more runs and the
server's database of each run, and prints delivery latency, completeness and CPU.

    sse_fanout_report.py WARMUP_S RATE LABEL=PREFIX:DB[:SERVER_PID_TICKS_PER_S] ...

For every run: PREFIX.kv (key=value from sse_fanout), PREFIX.ops, PREFIX.recv, PREFIX.vis and DB (the
server's SQLite file after it stopped). Latency of a (subscriber, event) pair = the subscriber's receive time
minus the time the driver sent the request that produced the event (both CLOCK_MONOTONIC in one process).
Operations in the first WARMUP_S seconds are checked for completeness but left out of the latency figures.
The first run is the baseline, the last one is judged against the target (p99 < 20 ms, nothing missing).
Exit status 1 when an event was missing, duplicated or out of order in any run.
"""
import os
import sqlite3
import sys

TARGET_P99_MS = 20.0


def pct(s, p):
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


def run(label, prefix, db, warmup_s, rate):
    kv = dict(line.strip().split("=", 1) for line in open(prefix + ".kv") if "=" in line)
    ops = [line.split() for line in open(prefix + ".ops")]
    sent = {}
    first_slot = int(ops[0][2]) if ops else 0
    warm = set()
    op_ms = []
    failed = 0
    for i, (op, sid, slot, t_sent, t_done, status) in enumerate(ops):
        if status not in ("201", "204"):
            failed += 1
            continue
        key = (op, sid)
        sent[key] = (int(t_sent), int(t_done))
        if int(slot) - first_slot < warmup_s * 1e9:
            warm.add(key)
        else:
            op_ms.append((int(t_done) - int(t_sent)) / 1e6)
    # The server's own record of the events, in id order: what every subscriber must have received.
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    truth = [(i, op, sid) for i, op, sid in con.execute("SELECT id, op, coalesce(socket_id, '-') FROM events ORDER BY id")]
    con.close()
    n_subs = int(kv["subscribers"])
    got = [[] for _ in range(n_subs)]
    lat, after_resp = [], []
    unmatched = 0
    for line in open(prefix + ".recv"):
        s, eid, op, sid, t = line.split()
        got[int(s)].append((int(eid), op, sid))
        key = (op, sid)
        if key not in sent:
            unmatched += 1
            continue
        if key in warm:
            continue
        t_sent, t_done = sent[key]
        lat.append((int(t) - t_sent) / 1e6)
        after_resp.append((int(t) - t_done) / 1e6)
    lat.sort()
    after_resp.sort()
    op_ms.sort()
    missing = dups = disorder = extra = 0
    worst = []
    for s, events in enumerate(got):
        ids = [e[0] for e in events]
        dups += len(ids) - len(set(ids))
        disorder += sum(1 for a, b in zip(ids, ids[1:]) if b <= a)
        have = set(events)
        miss = sum(1 for e in truth if e not in have)
        missing += miss
        extra += len(have - set(truth))
        if miss:
            worst.append((miss, s))
    vis = [line.split() for line in open(prefix + ".vis")]
    not_first = sum(1 for v in vis if int(v[2]) > 1 or v[1] == "0")
    never = sum(1 for v in vis if v[1] == "0")
    vis_ms = sorted(int(v[3]) / 1e6 for v in vis)
    hz = os.sysconf("SC_CLK_TCK")
    cpu = int(kv["server_cpu_ticks"]) / hz
    wall = float(kv["wall_s"])
    return dict(label=label, n=n_subs, events=len(truth), expected=int(kv["expected_events"]), pairs=len(lat),
                lat=lat, after=after_resp, op=op_ms, missing=missing, dups=dups, disorder=disorder, extra=extra,
                unmatched=unmatched, failed=failed, worst=sorted(worst, reverse=True)[:5], vis=len(vis),
                not_first=not_first, never=never, vis_ms=vis_ms, cpu=cpu, wall=wall, kv=kv)


def main():
    warmup_s, rate = float(sys.argv[1]), float(sys.argv[2])
    runs = []
    for arg in sys.argv[3:]:
        label, rest = arg.split("=", 1)
        prefix, db = rest.split(":", 1)
        runs.append(run(label, prefix, db, warmup_s, rate))
    print(f"{'run':<22} {'subs':>4} {'events':>6} {'pairs':>7} | {'p50 ms':>7} {'p99':>7} {'max':>7} | "
          f"{'after 2xx p50':>13} {'p99':>6} | {'op p50':>6} {'p99':>6} | {'missing':>7} {'dup':>3} {'order':>5} | "
          f"{'server CPU':>15}")
    bad = 0
    for r in runs:
        bad += r["missing"] + r["dups"] + r["disorder"] + r["extra"] + r["unmatched"] + r["failed"]
        print(f"{r['label']:<22} {r['n']:>4} {r['events']:>6} {r['pairs']:>7} | {pct(r['lat'], 50):>7.2f} "
              f"{pct(r['lat'], 99):>7.2f} {r['lat'][-1] if r['lat'] else float('nan'):>7.2f} | "
              f"{pct(r['after'], 50):>13.2f} {pct(r['after'], 99):>6.2f} | {pct(r['op'], 50):>6.2f} "
              f"{pct(r['op'], 99):>6.2f} | {r['missing']:>7} {r['dups']:>3} {r['disorder']:>5} | "
              f"{r['cpu']:>5.2f} s {r['cpu'] / r['wall']:>4.2f} core")
    print("(latency: subscriber receive - driver request sent, per (subscriber, event); after 2xx: receive - the "
          "operation's response,\n negative when the event arrived first; op: the operation's own request->response; "
          f"the first {warmup_s:g} s of operations are left out of these)")
    for r in runs:
        notes = []
        if r["events"] != r["expected"]:
            notes.append(f"database has {r['events']} events, driver succeeded {r['expected']} operations")
        if r["failed"]:
            notes.append(f"{r['failed']} operations failed (not 201/204)")
        if r["unmatched"] or r["extra"]:
            notes.append(f"{r['unmatched']} frames matched no operation, {r['extra']} not in the database")
        if r["worst"]:
            notes.append("subscribers missing the most: " + ", ".join(f"#{s} ({m})" for m, s in r["worst"]))
        kv = r["kv"]
        for k in ("streams_ended", "streams_eof"):
            if kv[k] != "0":
                notes.append(f"{k}={kv[k]}")
        if notes:
            print(f"  {r['label']}: " + "; ".join(notes))
    last = runs[-1]
    ok = pct(last["lat"], 99) < TARGET_P99_MS and last["missing"] == 0 and last["dups"] == 0 and last["disorder"] == 0
    print(f"target: every subscriber receives every event within {TARGET_P99_MS:g} ms p99 with {last['n']} subscribers: "
          f"{'PASS' if ok else 'MISS'} (p99 {pct(last['lat'], 99):.2f} ms, missing {last['missing']}, "
          f"baseline {runs[0]['label']} p99 {pct(runs[0]['lat'], 99):.2f} ms)")
    for r in runs:
        v = r["vis_ms"]
        print(f"read-after-write ({r['label']}): {r['vis']} creates, GET /v1/events?socket_id= right after the 201: "
              f"create event missing on the first GET {r['not_first']} times, still missing after 50 ms {r['never']}; "
              f"201 -> answer that had it p50 {pct(v, 50):.2f} ms p99 {pct(v, 99):.2f} ms max {v[-1] if v else float('nan'):.2f} ms")
    for r in runs:
        kv = r["kv"]
        n = r["n"]
        ok_shutdown = all(int(kv[k]) == n for k in ("shutdown_end_events", "shutdown_reason_ok", "shutdown_last_chunks",
                                                      "shutdown_closed"))
        bad += 0 if ok_shutdown else 1
        print(f"SIGTERM with {n} streams open ({r['label']}): end event {kv['shutdown_end_events']}/{n} (reason "
              f"server-shutdown {kv['shutdown_reason_ok']}), last chunk {kv['shutdown_last_chunks']}/{n}, connection "
              f"closed {kv['shutdown_closed']}/{n}, all closed after {kv['shutdown_all_closed_ms']} ms"
              f"{'' if ok_shutdown else '  <-- NOT CLEAN'}")
    for r in runs:
        kv = r["kv"]
        print(f"driver/client ({r['label']}): {kv['ops']} operations in {kv['drive_s']} s, {kv['late_slots']} slots "
              f"late by more than one slot (worst {kv['max_late_ms']} ms); client CPU {kv['client_cpu_s']} s over "
              f"{r['wall']:.1f} s ({float(kv['client_cpu_s']) / r['wall']:.2f} core); epoll batch handling mean "
              f"{kv['mean_batch_us']} us, p99 {kv['p99_batch_ms']} ms, max {kv['max_batch_ms']} ms; other processes "
              f"{kv['other_cores']} cores; heartbeats {kv['heartbeats']}; all attached after {kv['attach_ms']} ms")
    busy = max(float(r["kv"]["other_cores"]) for r in runs)
    if busy > 0.25:
        print(f"NOTE: other processes kept up to {busy:.2f} of the machine's cores busy during these runs: the latencies "
              f"above include waiting for a CPU; rerun on a quiet machine before comparing")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
