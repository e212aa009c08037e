import Testing
@testable import Storage

/// History retention: what a pruning pass deletes, what it must keep, and that it ends in small batches.
///
/// Rows are written with plain SQL (thousands in one statement); times are unix µs around `now`.
@Suite struct RetentionTests {
    let scratch: Scratch
    let db: Database
    let history: SQLiteHistory

    /// The pass's "now", and an age limit that makes everything before `now - hour` old.
    static let now: Int64 = 100_000_000_000
    static let hour: Int64 = 3_600_000_000
    static let old: Int64 = now - 2 * hour
    static let recent: Int64 = now - hour / 2

    init() throws {
        scratch = try Scratch()
        db = try scratch.open()
        try Migrator().migrate(db)
        history = SQLiteHistory(database: db)
    }

    // MARK: - Age

    @Test func ageLimitDeletesOldEventsAndRowsOfClosedSocketsButKeepsAnOpenSocketsOldEvents() throws {
        try addSocket("closed", open: false)
        try addSocket("open", open: true)
        try addSocket("closed-recently-used", open: false)
        let closedEvents = try addEvents(100, socket: "closed", at: Self.old)
        try addEvents(100, socket: "open", at: Self.old)
        try addEvents(50, socket: "closed-recently-used", at: Self.old)
        try addEvents(50, socket: "closed-recently-used", at: Self.recent)
        try addEvents(10, at: Self.old)      // neither socket nor probe: prunable
        try addEvents(5, at: Self.recent)

        let batches = try runPass(RetentionPolicy(maxAge: .seconds(3600)))

        #expect(batches.reduce(0) { $0 + $1.deletedEvents } == 100 + 50 + 10)
        #expect(batches.reduce(0) { $0 + $1.deletedSockets } == 1)
        #expect(try sockets() == ["closed-recently-used", "open"])
        #expect(try count("SELECT count(*) FROM events WHERE socket_id = 'open'") == 100)
        #expect(try count("SELECT count(*) FROM events WHERE socket_id = 'closed-recently-used'") == 50)
        #expect(try count("SELECT count(*) FROM events WHERE socket_id IS NULL AND probe_id IS NULL") == 5)
        #expect(try count("SELECT count(*) FROM events WHERE at < ? AND socket_id IS NOT 'open'", [.integer(Self.now - Self.hour)]) == 0)
        #expect(try count("SELECT count(*) FROM events WHERE id <= ?", [.integer(closedEvents.upperBound)]) == 0)
    }

    @Test func closingTheSocketLetsTheNextPassPruneItsOldEvents() throws {
        try addSocket("open", open: true)
        try addEvents(300, socket: "open", at: Self.old)
        let policy = RetentionPolicy(maxAge: .seconds(3600), batchSize: 100)
        #expect(try runPass(policy).reduce(0) { $0 + $1.deletedEvents } == 0)

        try db.write { try $0.run("UPDATE sockets SET state = 'closed', closed_at = ? WHERE id = 'open'", [.integer(Self.old + 1)]) }
        let batches = try runPass(policy)

        #expect(batches.reduce(0) { $0 + $1.deletedEvents } == 300)
        #expect(batches.reduce(0) { $0 + $1.deletedSockets } == 1)
        #expect(try count("SELECT count(*) FROM events") == 0)
        #expect(try sockets().isEmpty)
    }

    @Test func oldEventWrittenAfterTheLatestStartedOneIsStillPruned() throws {
        // An operation's event is written when it ends but dated when it started: a late id, an early `at`.
        try addEvents(200, at: Self.old)
        try addEvents(100, at: Self.recent)
        let straggler = try addEvents(1, at: Self.old - 1).lowerBound
        try addEvents(100, at: Self.recent)

        let batches = try runPass(RetentionPolicy(maxAge: .seconds(3600), batchSize: 50))

        #expect(batches.reduce(0) { $0 + $1.deletedEvents } == 201)
        #expect(try count("SELECT count(*) FROM events WHERE id = ?", [.integer(straggler)]) == 0)
        #expect(try count("SELECT count(*) FROM events") == 200)
    }

    @Test func deletedListenerLeavesItsOpenChildWithoutParent() throws {
        try addSocket("listener", open: false)
        try addSocket("accepted", open: true, parent: "listener")
        try addEvents(20, socket: "listener", at: Self.old)
        try addEvents(20, socket: "accepted", at: Self.old)

        try runPass(RetentionPolicy(maxAge: .seconds(3600)))

        #expect(try sockets() == ["accepted"])
        #expect(try db.read { try $0.scalar("SELECT parent_id FROM sockets WHERE id = 'accepted'") } == .null)
        #expect(try count("SELECT count(*) FROM events WHERE socket_id = 'accepted'") == 20)
    }

    // MARK: - Probes

    @Test func runningProbeIsKeptAndFinishedProbeGoesWithItsResultsOnceItsEventsAreGone() throws {
        try addProbe("running", running: true, results: 20)
        try addProbe("finished", running: false, results: 30)
        try addProbe("finished-recently-used", running: false, results: 5)
        try addEvents(40, probe: "running", at: Self.old)
        try addEvents(40, probe: "finished", at: Self.old)
        try addEvents(40, probe: "finished-recently-used", at: Self.old)
        try addEvents(1, probe: "finished-recently-used", at: Self.recent)

        let batches = try runPass(RetentionPolicy(maxAge: .seconds(3600), batchSize: 25))

        #expect(batches.reduce(0) { $0 + $1.deletedEvents } == 80)
        #expect(batches.reduce(0) { $0 + $1.deletedProbes } == 1)
        #expect(try probes() == ["finished-recently-used", "running"])
        #expect(try count("SELECT count(*) FROM events WHERE probe_id = 'running'") == 40)
        #expect(try count("SELECT count(*) FROM events WHERE probe_id = 'finished-recently-used'") == 1)
        #expect(try count("SELECT count(*) FROM probe_results WHERE probe_id = 'running'") == 20)
        #expect(try count("SELECT count(*) FROM probe_results WHERE probe_id = 'finished'") == 0)
        #expect(try count("SELECT count(*) FROM probe_results WHERE probe_id = 'finished-recently-used'") == 5)
    }

    // MARK: - Count

    /// After a full pass with no concurrent writes: the newest `maxEvents` events (whatever their subject),
    /// plus the older events of open sockets and running probes, which count toward the limit but are kept.
    /// So `count == min(total, maxEvents) + kept older events`, and nothing newer than the boundary moved.
    @Test(arguments: [0, 1, 299, 1_000, 1_999, 2_000, 5_000])
    func countLimitKeepsTheNewestEventsPlusOlderEventsOfOpenSubjects(maxEvents: Int) throws {
        try addSocket("open", open: true)
        try addProbe("running", running: true, results: 3)
        for round in 0..<20 {
            try addSocket("closed-\(round)", open: false)
            try addEvents(40, socket: "closed-\(round)", at: Self.recent)
            try addEvents(25, socket: "open", at: Self.recent)
            try addEvents(5, probe: "running", at: Self.recent)
            try addEvents(30, at: Self.recent)
        }
        let before = try eventIDs()
        #expect(before.count == 2_000)

        var pass = try history.beginPass(RetentionPolicy(maxEvents: maxEvents, batchSize: 64), now: Self.now)
        let boundary = pass.countBoundary
        let batches = try finish(&pass)

        let newest = Set(before.suffix(maxEvents))
        #expect(boundary == (maxEvents < before.count ? before[before.count - 1 - maxEvents] : nil))
        let keptOlder = try Set(eventIDs("WHERE (socket_id = 'open' OR probe_id = 'running') AND id <= ?", [.integer(boundary ?? 0)]))
        let after = try Set(eventIDs())
        #expect(after == newest.union(keptOlder))
        #expect(after.count == min(before.count, maxEvents) + keptOlder.count)
        #expect(batches.reduce(0) { $0 + $1.deletedEvents } == before.count - after.count)
        #expect(try count("SELECT count(*) FROM sockets WHERE id = 'open'") == 1)
        #expect(try count("SELECT count(*) FROM probes WHERE id = 'running'") == 1)
    }

    @Test func countLimitNeverDeletesEventsWrittenDuringThePass() throws {
        try addSocket("closed", open: false)
        try addEvents(1_000, socket: "closed", at: Self.recent)
        var pass = try history.beginPass(RetentionPolicy(maxEvents: 100, batchSize: 100), now: Self.now)
        let boundary = try #require(pass.countBoundary)
        _ = try history.pruneBatch(&pass)

        // Now the newest 100 are all among these, yet the pass keeps to the boundary it began with.
        let written = try addEvents(500, socket: "closed", at: Self.recent)
        try finish(&pass)

        #expect(try eventIDs() == Array(boundary + 1...written.upperBound))
        #expect(try sockets() == ["closed"])
    }

    @Test func ageOrCountMakesAnEventPrunable() throws {
        try addSocket("closed", open: false)
        try addEvents(100, socket: "closed", at: Self.recent)
        try addEvents(1, socket: "closed", at: Self.old)      // among the newest 100, but old
        let newest = try addEvents(99, socket: "closed", at: Self.recent)

        try runPass(RetentionPolicy(maxAge: .seconds(3600), maxEvents: 100))

        #expect(try eventIDs() == Array(newest))
    }

    @Test func passWithoutLimitsDeletesNothing() throws {
        try addSocket("closed", open: false)
        try addEvents(10, socket: "closed", at: 0)
        var pass = try history.beginPass(RetentionPolicy(), now: Self.now)
        #expect(pass.isFinished)
        #expect(try history.pruneBatch(&pass) == PruneBatchResult(deletedEvents: 0, deletedSockets: 0, deletedProbes: 0, nextAfter: nil))
        #expect(try count("SELECT count(*) FROM events") == 10)
    }

    // MARK: - Batches

    @Test func batchesNeverDeleteMoreThanBatchSize() throws {
        try addSocket("closed", open: false)
        try addEvents(3_000, socket: "closed", at: Self.old)

        let batches = try runPass(RetentionPolicy(maxAge: .seconds(3600), batchSize: 100))

        #expect(batches.allSatisfy { $0.deletedEvents <= 100 })
        #expect(batches.count >= 30)
        #expect(batches.reduce(0) { $0 + $1.deletedEvents } == 3_000)
        #expect(try count("SELECT count(*) FROM events") == 0)
    }

    @Test func passOverTwentyThousandEventsWithAnOldOpenSocketFirstEnds() throws {
        try addSocket("open", open: true)
        try addEvents(5_000, socket: "open", at: Self.old)   // kept: the pass must step over them, not stall on them
        for round in 0..<15 {
            try addSocket("closed-\(round)", open: false)
            try addEvents(1_000, socket: "closed-\(round)", at: Self.old)
        }

        let batches = try runPass(RetentionPolicy(maxAge: .seconds(3600), maxEvents: 10_000))

        #expect(batches.allSatisfy { $0.deletedEvents <= 500 })
        #expect(batches.reduce(0) { $0 + $1.deletedEvents } == 15_000)
        #expect(batches.reduce(0) { $0 + $1.deletedSockets } == 15)
        #expect(try count("SELECT count(*) FROM events") == 5_000)
        #expect(try sockets() == ["open"])
    }

    // MARK: - Fixtures

    /// Runs a whole pass; checks on the way that each batch moves the cursor on and `nextAfter` ends it.
    @discardableResult
    func runPass(_ policy: RetentionPolicy) throws -> [PruneBatchResult] {
        var pass = try history.beginPass(policy, now: Self.now)
        return try finish(&pass)
    }

    /// Runs `pass` to its end (at most 10,000 batches, so that a pass that never ends fails instead of hanging).
    @discardableResult
    func finish(_ pass: inout RetentionPass) throws -> [PruneBatchResult] {
        var batches: [PruneBatchResult] = []
        while !pass.isFinished {
            let cursor = pass.after
            let result = try history.pruneBatch(&pass)
            batches.append(result)
            #expect((result.nextAfter == nil) == pass.isFinished)
            #expect(result.nextAfter.map { $0 > cursor } ?? true, "the cursor must move on")
            try #require(batches.count < 10_000, "the pass does not end")
        }
        return batches
    }

    /// Appends `count` events `step` µs apart from `at`, in one statement; returns their ids.
    @discardableResult
    func addEvents(_ count: Int, socket: String? = nil, probe: String? = nil, at: Int64, step: Int64 = 0) throws -> ClosedRange<Int64> {
        try db.write { connection in
            try connection.run(
                """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
                INSERT INTO events (at, socket_id, probe_id, op, outcome) SELECT ?2 + i * ?3, ?4, ?5, 'send', 'ok' FROM n
                """, [.integer(Int64(count)), .integer(at), .integer(step), SQLValue(socket), SQLValue(probe)])
            let last = connection.lastInsertRowID
            return (last - Int64(count) + 1)...last
        }
    }

    /// Inserts a socket row, open (no closed_at) or closed.
    func addSocket(_ id: String, open: Bool, parent: String? = nil) throws {
        try db.write {
            try $0.run(
                """
                INSERT INTO sockets (id, family, type, state, parent_id, created_at, closed_at, updated_at)
                VALUES (?, 'inet', 'stream', ?, ?, ?, ?, ?)
                """,
                [.text(id), .text(open ? "connected" : "closed"), SQLValue(parent), .integer(Self.old),
                 open ? .null : .integer(Self.old), .integer(Self.old)])
        }
    }

    /// Inserts a probe row, running or finished, with `results` probe_results rows.
    func addProbe(_ id: String, running: Bool, results: Int) throws {
        try db.write { connection in
            try connection.run(
                "INSERT INTO probes (id, kind, target, request, status, started_at) VALUES (?, 'tcp_connect', 'localhost', '{}', ?, ?)",
                [.text(id), .text(running ? "running" : "finished"), .integer(Self.old)])
            for position in 0..<results {
                try connection.run("INSERT INTO probe_results (probe_id, position, state, at) VALUES (?, ?, 'open', ?)",
                                   [.text(id), .integer(Int64(position)), .integer(Self.old)])
            }
        }
    }

    /// The integer that `sql` answers (-1 if none).
    func count(_ sql: String, _ bindings: [SQLValue] = []) throws -> Int {
        Int(try db.read { try $0.scalar(sql, bindings) }?.int ?? -1)
    }

    /// The ids of the events matching `filter` (a WHERE clause or nothing), ascending.
    func eventIDs(_ filter: String = "", _ bindings: [SQLValue] = []) throws -> [Int64] {
        try db.read { try $0.query("SELECT id FROM events \(filter) ORDER BY id", bindings).compactMap { $0[0].int } }
    }

    /// The ids of every socket row, sorted.
    func sockets() throws -> [String] {
        try db.read { try $0.query("SELECT id FROM sockets ORDER BY id").compactMap { $0[0].string } }
    }

    /// The ids of every probe row, sorted.
    func probes() throws -> [String] {
        try db.read { try $0.query("SELECT id FROM probes ORDER BY id").compactMap { $0[0].string } }
    }
}
