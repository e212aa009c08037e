/// The SQLite implementation of the history repositories (sockets and events), over one `Database`.
public struct SQLiteHistory: SocketRepository, EventRepository {
    let database: Database
    /// Every write goes through it: batched commits, committed events published in id order.
    public let writer: HistoryWriter

    /// Writes through `writer` (share one per database so that commits batch and stay ordered).
    public init(writer: HistoryWriter) {
        self.database = writer.database
        self.writer = writer
    }

    /// Uses an opened, migrated database with a writer of its own that publishes nowhere (tools, tests).
    public init(database: Database) {
        self.init(writer: HistoryWriter(database: database, logger: database.logger))
    }

    /// Returns once committed (see `HistoryWriter`).
    public func create(_ socket: SocketRecord, event: EventRecord) async throws -> EventRecord {
        try await writer.record(SocketWrite(kind: .insert, socket: socket, event: event))
    }

    /// Returns once committed; a change of counters alone leaves the indexed columns alone.
    public func record(_ socket: SocketRecord, previous: SocketRecord?, event: EventRecord) async throws -> EventRecord {
        var countersOnly = false
        if let previous, previous.state == socket.state, previous.localAddress == socket.localAddress,
           previous.peerAddress == socket.peerAddress, previous.options == socket.options,
           previous.memberships == socket.memberships,
           previous.closedAt == socket.closedAt, previous.closeReason == socket.closeReason {
            countersOnly = true
        }
        return try await writer.record(SocketWrite(kind: countersOnly ? .counters : .update, socket: socket, event: event))
    }

    public func checkWritable() throws {
        try writer.checkWritable()
    }

    public func find(id: String) async throws -> SocketRecord? {
        try database.read { db in
            try db.query("SELECT * FROM sockets WHERE id = ?", [.text(id)]).first.map(Self.socket(from:))
        }
    }

    public func list(_ query: SocketQuery) async throws -> Page<SocketRecord> {
        var filter = Filter()
        filter.equal("state", query.state)
        filter.equal("family", query.family)
        filter.equal("type", query.type)
        filter.equal("label", query.label)
        filter.equal("netns", query.netns)
        if query.openOnly { filter.clauses.append("closed_at IS NULL") }
        return try page(table: "sockets", key: "seq", filter: filter, cursor: query.cursor, order: query.order,
                        limit: query.limit, map: Self.socket(from:)) { $0.seq }
    }

    public func closeAllOpen(reason: String, at: Int64) async throws -> [String] {
        try await writer.write { db in
            let ids = try db.query("SELECT id FROM sockets WHERE closed_at IS NULL ORDER BY seq", []).compactMap { $0["id"].string }
            var events: [EventRecord] = []
            for id in ids {
                try db.run("UPDATE sockets SET state = 'closed', closed_at = ?, close_reason = ?, updated_at = ? WHERE id = ?",
                           [.integer(at), .text(reason), .integer(at), .text(id)])
                events.append(try Self.insert(EventRecord(at: at, socketID: id, op: "close", outcome: "ok",
                                                          result: .object(["reason": .string(reason)])), into: db))
            }
            return (ids, events)
        }
    }

    public func list(_ query: EventQuery) async throws -> Page<EventRecord> {
        var filter = Filter()
        filter.equal("socket_id", query.socketID)
        filter.equal("probe_id", query.probeID)
        // A socket's or a probe's events are few: keep SQLite on that index (unary + takes op and outcome out of
        // index choice), rather than walking every error of the log (measured 28 ms vs 0.13 ms at 1M events).
        let subject = query.socketID != nil || query.probeID != nil
        filter.equal(subject ? "+op" : "op", query.op)
        filter.equal(subject ? "+outcome" : "outcome", query.outcome)
        // Lets SQLite use the partial indexes on outcomes other than 'ok' (migration 0002).
        if !subject, let outcome = query.outcome, outcome != "ok" { filter.clauses.append("outcome <> 'ok'") }
        if let since = query.since { filter.add("at >= ?", .integer(since)) }
        if let until = query.until { filter.add("at < ?", .integer(until)) }
        if let after = query.after { filter.add("id > ?", .integer(after)) }
        return try page(table: "events", key: "id", filter: filter, cursor: query.cursor, order: query.order,
                        limit: query.limit, map: Self.event(from:)) { $0.id }
    }

    // MARK: - Mapping

    /// A WHERE clause built from optional filters, with bound parameters only.
    struct Filter {
        var clauses: [String] = []
        var bindings: [SQLValue] = []

        mutating func equal(_ column: String, _ value: String?) {
            guard let value else { return }
            add("\(column) = ?", .text(value))
        }

        mutating func add(_ clause: String, _ value: SQLValue) {
            clauses.append(clause)
            bindings.append(value)
        }
    }

    /// Keyset pagination on an integer key: stable under inserts, no OFFSET scans.
    func page<Item: Sendable>(
        table: String, key: String, filter: Filter, cursor: Int64?, order: ListOrder, limit: Int,
        map: (Row) -> Item, keyOf: (Item) -> Int64
    ) throws -> Page<Item> {
        var filter = filter
        let descending = order == .newestFirst
        if let cursor { filter.add("\(key) \(descending ? "<" : ">") ?", .integer(cursor)) }
        let whereClause = filter.clauses.isEmpty ? "" : "WHERE " + filter.clauses.joined(separator: " AND ")
        let sql = "SELECT * FROM \(table) \(whereClause) ORDER BY \(key) \(descending ? "DESC" : "ASC") LIMIT ?"
        let rows = try database.read { db in try db.query(sql, filter.bindings + [.integer(Int64(limit + 1))]) }
        let items = rows.prefix(limit).map(map)
        let next = rows.count > limit ? items.last.map(keyOf) : nil
        return Page(items: Array(items), nextCursor: next)
    }
}
