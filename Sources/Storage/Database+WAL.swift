import CSQLite
import Glibc
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
    ///
    /// A truncation that readers kept from finishing (the pragma's `busy` column; SQLite raises no error for it)
    /// is counted in `walTruncationsBlocked` and logged at most every 10 s; the checkpointer asks again.
    func truncateWALIfRequested() {
        guard walTruncationRequested.exchange(false, ordering: .acquiring) else { return }
        walTruncating.store(true, ordering: .releasing)
        defer { walTruncating.store(false, ordering: .releasing) }
        do {
            let blocked = try withConnection { connection -> Bool in
                try connection.execute("PRAGMA busy_timeout = 50")
                defer { try? connection.execute("PRAGMA busy_timeout = \(Self.busyTimeoutMilliseconds)") }
                // Columns: busy, frames in the log, frames copied.
                return try connection.query("PRAGMA wal_checkpoint(TRUNCATE)").first?[0].int != 0
            }
            if blocked { noteBlockedTruncation() }
        } catch {
            logger.warning("truncating the WAL failed; retried at the checkpointer's next request", metadata: ["db.error": "\(error)"])
        }
    }

    /// Lets a truncation go first: a read that would start while the writer truncates waits for it, up to
    /// `readerYield`. Truncating needs a moment with no reader on the log; the readers already in progress finish,
    /// and the truncation's busy handler retries into the gap this leaves. Back-to-back reads (a retention pass
    /// counting millions of ids in chunks) never left one before: the WAL reached 99 MB behind them. Truncations
    /// come at most once per checkpointer round and take milliseconds once the passive copies did the bulk.
    func yieldToWALTruncation() {
        guard walTruncating.load(ordering: .acquiring) else { return }
        let deadline = ContinuousClock.now + Self.readerYield
        while walTruncating.load(ordering: .acquiring), ContinuousClock.now < deadline { usleep(200) }
    }

    /// The longest a read waits for a truncation (`yieldToWALTruncation`): the truncation's own busy timeout.
    static let readerYield: Duration = .milliseconds(50)

    private func noteBlockedTruncation() {
        let count = walTruncationsBlocked.add(1, ordering: .relaxed).newValue
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let last = walTruncationBlockedLoggedAt.load(ordering: .relaxed)
        guard count == 1 || Int64(now.tv_sec) - last >= 10,
              walTruncationBlockedLoggedAt.compareExchange(expected: last, desired: Int64(now.tv_sec), ordering: .relaxed).exchanged
        else { return }
        logger.warning("readers kept the WAL from being truncated; the checkpointer asks again",
                       metadata: ["db.wal_truncations_blocked": "\(count)"])
    }

    /// Bytes the WAL file is cut back to after a checkpoint reset it (`journal_size_limit`).
    public static let journalSizeLimit = 16 << 20
}
