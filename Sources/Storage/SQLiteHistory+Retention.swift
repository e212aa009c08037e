extension SQLiteHistory {
    /// Starts a pruning pass over the history as it is `now` (unix µs), for `pruneBatch` to carry out.
    ///
    /// Costs two index probes, plus — with `maxEvents` set and more events than that — a walk over the newest
    /// `maxEvents` ids to find the boundary, in short reads of `boundaryChunk` ids each (`countBoundary`).
    public func beginPass(_ policy: RetentionPolicy, now: Int64) throws -> RetentionPass {
        precondition(policy.batchSize >= 1, "RetentionPolicy.batchSize must be at least 1")
        precondition(policy.maxEvents.map { $0 >= 0 } ?? true, "RetentionPolicy.maxEvents must not be negative")
        precondition(policy.maxAge.map { $0 >= .zero } ?? true, "RetentionPolicy.maxAge must not be negative")
        let cutoff = policy.maxAge.map { Self.cutoff(now: now, maxAge: $0) }
        let boundary = try policy.maxEvents.flatMap { try countBoundary(keeping: $0) }
        let latestExpired = try database.read { db in try cutoff.flatMap { try Self.latestStartedExpired(before: $0, db) } }
        let end = max(boundary ?? 0, latestExpired ?? 0)
        return RetentionPass(batchSize: policy.batchSize, ageCutoff: cutoff, countBoundary: boundary, isFinished: end == 0,
                             end: end, endIsExact: latestExpired == nil)
    }

    /// Deletes the next at most `batchSize` prunable events of `pass` in one short write transaction,
    /// then the closed sockets and finished probes among their subjects that have no event left.
    ///
    /// A batch looks at no more than 4 × `batchSize` events, so a stretch of kept events (an old socket
    /// still open) costs a few cheap batches rather than one long one. `pass` moves on only if the
    /// transaction commits; after an error the same batch can be retried.
    public func pruneBatch(_ pass: inout RetentionPass) throws -> PruneBatchResult {
        guard !pass.isFinished else {
            return PruneBatchResult(deletedEvents: 0, deletedSockets: 0, deletedProbes: 0, nextAfter: nil)
        }
        let current = pass
        let (result, next) = try writer.writeAndWait { db in (try Self.prune(current, db), []) }
        pass = next
        return result
    }

    // MARK: - The batch

    /// Rows looked at per batch, as a multiple of `batchSize`.
    static let scanFactor = 4

    /// One batch, inside the write transaction; returns the result and the pass moved on.
    private static func prune(_ pass: RetentionPass, _ db: Connection) throws -> (PruneBatchResult, RetentionPass) {
        var pass = pass
        let scanLimit = pass.batchSize.multipliedReportingOverflow(by: scanFactor)
        let limit = scanLimit.overflow ? Int.max : scanLimit.partialValue
        // Walks the primary key from the cursor; `prunable` costs two unique-index probes, and only for
        // events old enough. Sentinels switch a limit off: no `at` is below Int64.min, no id is 0 or less.
        let rows = try db.query(
            """
            SELECT e.id, e.socket_id, e.probe_id,
                   CASE WHEN e.at < ?1 OR e.id <= ?2 THEN
                            NOT EXISTS (SELECT 1 FROM sockets s WHERE s.id = e.socket_id AND s.closed_at IS NULL)
                        AND NOT EXISTS (SELECT 1 FROM probes p WHERE p.id = e.probe_id AND p.status = 'running')
                   ELSE 0 END AS prunable
            FROM events e
            WHERE e.id > ?3 AND e.id <= ?4
            ORDER BY e.id
            LIMIT ?5
            """,
            [.integer(pass.ageCutoff ?? .min), .integer(pass.countBoundary ?? 0), .integer(pass.after),
             .integer(pass.end), .integer(Int64(limit))])

        var events: [Int64] = []
        var sockets = Set<String>()
        var probes = Set<String>()
        var consumed = 0
        for row in rows {
            guard events.count < pass.batchSize else { break }
            consumed += 1
            guard let id = row[0].int else { continue }
            pass.after = id
            guard row[3].int == 1 else { continue }
            events.append(id)
            if let socket = row[1].string { sockets.insert(socket) }
            if let probe = row[2].string { probes.insert(probe) }
        }
        if consumed == rows.count && rows.count < limit { pass.after = pass.end }  // nothing left up to `end`

        for id in events {
            try db.run("DELETE FROM events WHERE id = ?", [.integer(id)])
        }
        // The closed_at / status conditions cannot fail (kept subjects' events are never deleted); they keep
        // the row deletes safe on their own.
        var deletedSockets = 0
        for socket in sockets {
            // The FKs null the children's parent_id; the events are already gone, so nothing cascades.
            try db.run(
                """
                DELETE FROM sockets
                WHERE id = ?1 AND closed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events WHERE socket_id = ?1)
                """, [.text(socket)])
            deletedSockets += db.changes
        }
        var deletedProbes = 0
        for probe in probes {
            // Cascades to probe_results (not counted in `changes`, which counts direct deletes only).
            try db.run(
                """
                DELETE FROM probes
                WHERE id = ?1 AND status <> 'running' AND NOT EXISTS (SELECT 1 FROM events WHERE probe_id = ?1)
                """, [.text(probe)])
            deletedProbes += db.changes
        }

        if pass.after >= pass.end { try settle(&pass, db) }
        return (PruneBatchResult(deletedEvents: events.count, deletedSockets: deletedSockets, deletedProbes: deletedProbes,
                                 nextAfter: pass.isFinished ? nil : pass.after), pass)
    }

    /// At `end`: extends the walk to expired events written after the latest-started one, once, or finishes.
    ///
    /// The lookup walks the `at` index over the expired events still there — by now mostly the kept ones,
    /// the rest of them having just been deleted — not over the whole table.
    private static func settle(_ pass: inout RetentionPass, _ db: Connection) throws {
        if let cutoff = pass.ageCutoff, !pass.endIsExact {
            pass.endIsExact = true
            // INDEXED BY: otherwise SQLite answers max(id) by walking the table back from the newest row,
            // which here means through every event younger than the cutoff.
            let latest = try db.scalar("SELECT max(id) FROM events INDEXED BY events_at_idx WHERE at < ?",
                                       [.integer(cutoff)])?.int ?? 0
            if latest > pass.end { pass.end = latest }
        }
        pass.isFinished = pass.after >= pass.end
    }

    // MARK: - Boundaries

    /// The id of the newest event beyond the newest `keep`, or `nil` when there are no more than `keep`.
    func countBoundary(keeping keep: Int) throws -> Int64? {
        // The id span bounds the count from above in two index probes: the common "under the limit" case.
        let span = try database.read { db in
            (try db.scalar("SELECT max(id) FROM events")?.int, try db.scalar("SELECT min(id) FROM events")?.int)
        }
        guard let newest = span.0, let oldest = span.1, newest - oldest >= Int64(keep) else { return nil }
        // Counted down from the newest id in ranges of `boundaryChunk`, each in a read of its own: one read over
        // millions of ids held a snapshot for seconds, and the WAL could not restart behind it (measured: 135 MB).
        var remaining = Int64(keep)
        var upper = newest
        while upper >= oldest {
            let lower = max(upper - Self.boundaryChunk, oldest - 1)
            let count = try database.read { db in
                try db.scalar("SELECT count(*) FROM events WHERE id > ? AND id <= ?", [.integer(lower), .integer(upper)])?.int ?? 0
            }
            if count > remaining {
                return try database.read { db in
                    try db.scalar("SELECT id FROM events WHERE id <= ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                                  [.integer(upper), .integer(remaining)])?.int
                }
            }
            remaining -= count
            upper = lower
        }
        return nil
    }

    /// Ids per read of `countBoundary`'s walk (~10 ms of SQLite each).
    static let boundaryChunk: Int64 = 50_000

    /// The id of the event that started last before `cutoff`, or `nil` if none did: one `at` index probe.
    static func latestStartedExpired(before cutoff: Int64, _ db: Connection) throws -> Int64? {
        try db.scalar("SELECT id FROM events WHERE at < ? ORDER BY at DESC LIMIT 1", [.integer(cutoff)])?.int
    }

    /// `now - maxAge` in unix µs, saturating: an age past the representable range expires nothing.
    static func cutoff(now: Int64, maxAge: Duration) -> Int64 {
        let (seconds, attoseconds) = maxAge.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { return .min }
        let (micros, carry) = whole.addingReportingOverflow(attoseconds / 1_000_000_000_000)
        guard !carry else { return .min }
        let (cutoff, under) = now.subtractingReportingOverflow(micros)
        return under ? .min : cutoff
    }
}
