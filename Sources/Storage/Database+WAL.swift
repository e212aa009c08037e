import CSQLite
import Synchronization

/// Keeping the WAL bounded under continuous writes: the checkpointer asks, the writer truncates between two
/// transactions, and `journal_size_limit` cuts the file back.
extension Database {
    /// Log size past which the checkpointer asks for a truncation (`requestWALTruncation`).
    public static let truncateWALAbove = 8 << 20

    /// Asks the writer to truncate the WAL after its current transaction.
    func requestWALTruncation() {
        walTruncationRequested.store(true, ordering: .releasing)
    }

    /// On the writer's connection, between two transactions, when asked (`requestWALTruncation`): copies the log
    /// into the database and empties it (`wal_checkpoint(TRUNCATE)`). Waits at most 50 ms for readers still using
    /// the log; if they are slower it gives up, and the checkpointer asks again. Failures are logged.
    func truncateWALIfRequested() {
        guard walTruncationRequested.exchange(false, ordering: .acquiring) else { return }
        do {
            try withConnection { connection in
                try connection.execute("PRAGMA busy_timeout = 50")
                defer { try? connection.execute("PRAGMA busy_timeout = \(Self.busyTimeoutMilliseconds)") }
                _ = try connection.query("PRAGMA wal_checkpoint(TRUNCATE)")
            }
        } catch {
            logger.warning("truncating the WAL failed; retried at the checkpointer's next request", metadata: ["db.error": "\(error)"])
        }
    }

    /// Bytes the WAL file is cut back to after a checkpoint reset it (`journal_size_limit`).
    public static let journalSizeLimit = 16 << 20
}
