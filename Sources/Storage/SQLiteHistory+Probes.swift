extension SQLiteHistory: ProbeRepository {
    public func start(_ probe: ProbeRecord, event: EventRecord, runsMeanwhile: Bool) -> QueuedWrite<EventRecord> {
        writer.queue(keepOnFailure: runsMeanwhile) { db in
            try db.run(
                """
                INSERT INTO probes (id, kind, target, resolved_address, request, status, outcome, reason, phases, summary,
                    started_at, finished_at, duration_us, netns)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(probe.id), .text(probe.kind), .text(probe.target), .init(probe.resolvedAddress), .init(probe.request),
                 .text(probe.status), .init(probe.outcome), .init(probe.reason), .init(probe.phases), .init(probe.summary),
                 .integer(probe.startedAt), .init(probe.finishedAt), .init(probe.durationUs), .init(probe.netns)])
            return try Self.inserting(event, into: db)
        }
    }

    /// One transaction (the writer's next batch) for the result rows, the probe's row and its finish event. The probe
    /// ran: should the commit fail, the write stays queued until it succeeds.
    public func finish(_ probe: ProbeRecord, results: [ProbeResultRecord], event: EventRecord) async throws -> EventRecord {
        try await writer.write(keepOnFailure: true) { db in
            try Self.insert(results, of: probe.id, into: db)
            try db.run(
                """
                UPDATE probes SET resolved_address = ?, status = ?, outcome = ?, reason = ?, phases = ?, summary = ?,
                    finished_at = ?, duration_us = ?
                WHERE id = ?
                """,
                [.init(probe.resolvedAddress), .text(probe.status), .init(probe.outcome), .init(probe.reason),
                 .init(probe.phases), .init(probe.summary), .init(probe.finishedAt), .init(probe.durationUs), .text(probe.id)])
            return try Self.inserting(event, into: db)
        }
    }

    public func progress(_ probeID: String, results: [ProbeResultRecord], event: EventRecord) async throws -> EventRecord {
        try await writer.write(keepOnFailure: true) { db in
            try Self.insert(results, of: probeID, into: db)
            return try Self.inserting(event, into: db)
        }
    }

    /// A probe's result rows, with one prepared statement for all of them.
    private static func insert(_ results: [ProbeResultRecord], of probeID: String, into db: Connection) throws {
        let insert = try db.prepare(
            "INSERT INTO probe_results (probe_id, position, last_position, state, rtt_us, ttl, bytes, errno, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        for row in results {
            try insert.bind([.text(probeID), .integer(Int64(row.position)), .init(row.lastPosition.map(Int64.init)), .text(row.state), .init(row.rttUs),
                             .init(row.ttl), .init(row.bytes), .init(row.errno), .init(row.detail), .integer(row.at)])
            _ = try insert.step()
            try insert.reset()
        }
    }

    public func findProbe(id: String) async throws -> ProbeRecord? {
        try database.read { db in
            try db.query("SELECT * FROM probes WHERE id = ?", [.text(id)]).first.map(Self.probe(from:))
        }
    }

    public func results(ofProbe id: String) async throws -> [ProbeResultRecord] {
        try database.read { db in
            try db.query("SELECT * FROM probe_results WHERE probe_id = ? ORDER BY position, id", [.text(id)]).map { row in
                var record = ProbeResultRecord(
                    position: Int(row["position"].int ?? 0), state: row["state"].string ?? "", rttUs: row["rtt_us"].int,
                    ttl: row["ttl"].int.map(Int.init), bytes: row["bytes"].int.map(Int.init), errno: row["errno"].string,
                    detail: row["detail"].detail, at: row["at"].int ?? 0)
                record.lastPosition = row["last_position"].int.map(Int.init)
                return record
            }
        }
    }

    public func list(_ query: ProbeQuery) async throws -> Page<ProbeRecord> {
        var filter = Filter()
        filter.equal("kind", query.kind)
        filter.equal("target", query.target)
        filter.equal("outcome", query.outcome)
        filter.equal("status", query.status)
        if let since = query.since { filter.add("started_at >= ?", .integer(since)) }
        if let until = query.until { filter.add("started_at < ?", .integer(until)) }
        return try page(table: "probes", key: "seq", filter: filter, cursor: query.cursor, order: query.order,
                        limit: query.limit, map: Self.probe(from:)) { $0.seq }
    }

    public func abandonRunningProbes(at: Int64) async throws -> Int {
        try await writer.write { db in
            try db.run(
                """
                UPDATE probes SET status = 'finished', outcome = 'failure', finished_at = ?, duration_us = ? - started_at,
                    reason = '{"kind":"server-crash","message":"the server stopped before the probe finished"}'
                WHERE status = 'running'
                """, [.integer(at), .integer(at)])
            return (db.changes, [])
        }
    }

    static func probe(from row: Row) -> ProbeRecord {
        var probe = ProbeRecord(id: row["id"].string ?? "", kind: row["kind"].string ?? "", target: row["target"].string ?? "",
                                request: row["request"].detail ?? .object([:]), startedAt: row["started_at"].int ?? 0)
        probe.seq = row["seq"].int ?? 0
        probe.resolvedAddress = row["resolved_address"].string
        probe.netns = row["netns"].string
        probe.status = row["status"].string ?? "running"
        probe.outcome = row["outcome"].string
        probe.reason = row["reason"].detail
        probe.phases = row["phases"].detail
        probe.summary = row["summary"].detail
        probe.finishedAt = row["finished_at"].int
        probe.durationUs = row["duration_us"].int
        return probe
    }
}
