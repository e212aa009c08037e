/// Activity of one second of history, for the rolling windows of the stats view.
public struct SecondActivity: Sendable, Equatable {
    /// Unix seconds.
    public var second: Int64
    /// Events recorded in that second.
    public var operations: Int64
    /// Of which failed.
    public var errors: Int64
    /// Of which timed out.
    public var timeouts: Int64
    /// Payload bytes of sends.
    public var bytesSent: Int64
    /// Payload bytes of receives.
    public var bytesReceived: Int64

    /// Creates a bucket.
    public init(second: Int64, operations: Int64 = 0, errors: Int64 = 0, timeouts: Int64 = 0, bytesSent: Int64 = 0,
                bytesReceived: Int64 = 0) {
        self.second = second
        self.operations = operations
        self.errors = errors
        self.timeouts = timeouts
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
    }
}

/// Aggregates over history that a dashboard shows at once.
public protocol ActivityRepository: Sendable {
    /// Events since `since` (unix µs), bucketed per second of their `at`; used once at start to seed the
    /// in-memory windows.
    func activity(since: Int64) async throws -> [SecondActivity]
    /// Payload bytes sent and received over every session in history.
    func byteTotals() async throws -> (sent: Int64, received: Int64)
    /// Probes per outcome (`running` for those not finished).
    func probeOutcomes() async throws -> [String: Int]
}

extension SQLiteHistory: ActivityRepository {
    public func activity(since: Int64) async throws -> [SecondActivity] {
        try database.read { db in
            try db.query(
                """
                SELECT at / 1000000 AS second, count(*) AS operations,
                    sum(outcome = 'error') AS errors, sum(outcome = 'timeout') AS timeouts,
                    total(CASE WHEN op = 'send' THEN bytes END) AS sent,
                    total(CASE WHEN op = 'receive' THEN bytes END) AS received
                FROM events WHERE at >= ? GROUP BY second ORDER BY second
                """, [.integer(since)]
            ).map { row in
                SecondActivity(
                    second: row["second"].int ?? 0, operations: row["operations"].int ?? 0, errors: row["errors"].int ?? 0,
                    timeouts: row["timeouts"].int ?? 0, bytesSent: Int64(row["sent"].double ?? 0),
                    bytesReceived: Int64(row["received"].double ?? 0))
            }
        }
    }

    public func byteTotals() async throws -> (sent: Int64, received: Int64) {
        try database.read { db in
            let row = try db.query("SELECT total(bytes_sent) AS sent, total(bytes_received) AS received FROM sockets").first
            return (Int64(row?["sent"].double ?? 0), Int64(row?["received"].double ?? 0))
        }
    }

    public func probeOutcomes() async throws -> [String: Int] {
        try database.read { db in
            var counts: [String: Int] = [:]
            for row in try db.query("SELECT coalesce(outcome, status) AS outcome, count(*) AS n FROM probes GROUP BY 1") {
                counts[row["outcome"].string ?? "unknown"] = Int(row["n"].int ?? 0)
            }
            return counts
        }
    }
}
