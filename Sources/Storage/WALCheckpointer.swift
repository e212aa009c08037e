import Dispatch
public import Logging
import Synchronization

/// Checkpoints the WAL from a connection and a thread of its own, so that no history write ever pays for one.
///
/// With SQLite's automatic checkpoint, the commit that pushes the WAL past 1,000 pages copies them into the
/// database file and syncs it, on the request path. Measured under the lifecycle load, commits averaged 71 µs;
/// auto-checkpoints were a large part of it. Here the writer connection's auto-checkpoint is off and this one
/// runs `wal_checkpoint(PASSIVE)` every `interval` (100 ms): passive never blocks writers (they keep appending while
/// it copies), and once it has copied everything the next write starts the WAL over.
///
/// Under continuous writes a passive checkpoint never catches up (SQLite's "checkpoint starvation": frames
/// are appended while it copies, so the log never restarts; measured 2.36 GB of WAL after 20 s of probes). A
/// truncating checkpoint here did not cure it either: it needs the write lock, and between the writer's
/// back-to-back transactions its busy handler kept sleeping through the gaps (measured: the WAL reached 77 MB).
/// So when a round finds more than `Database.truncateWALAbove` in the log, it asks the history writer to
/// truncate it between two batches (`Database.requestWALTruncation`); the passive copies leave little for the
/// writer to copy then. (The log's frame count decides, not the file's size: a file that passive rounds keep
/// restarting stays at its high-water mark, and truncating it again and again cost the writer ~9 %.)
public final class WALCheckpointer: Sendable {
    private let connection: Database
    // Not `.utility`: on a busy 2-core machine a utility queue was starved while writes went on (measured: the
    // WAL reached 48 MB between rounds at ~40 MB/s of frames).
    private let queue = DispatchQueue(label: "sockpit.wal-checkpointer", qos: .userInitiated)
    // DispatchSource is thread-safe (cancel from any thread); it is not annotated Sendable.
    nonisolated(unsafe) private let timer: any DispatchSourceTimer
    private let stopped = Atomic<Bool>(false)

    /// Opens a second connection to `database`'s file, turns `database`'s auto-checkpoint off and starts the
    /// periodic checkpoints. Call `stop()` before closing `database`.
    public init(for database: Database, interval: Duration = .milliseconds(100), logger: Logger) throws {
        let connection = try Database(path: database.path, logger: logger)
        self.connection = connection
        try database.withConnection { try $0.execute("PRAGMA wal_autocheckpoint = 0") }
        let nanoseconds = interval.wholeNanoseconds
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds))
        timer.setEventHandler {
            do {
                try Self.checkpoint(connection, writer: database)
            } catch {
                logger.warning("WAL checkpoint failed", metadata: ["db.error": "\(error)"])
            }
        }
        timer.resume()
    }

    /// One round: copies what it can without blocking anyone, and asks `writer` for a truncation when the log is
    /// still large (columns: busy, frames in the log, frames copied).
    static func checkpoint(_ connection: Database, writer: Database) throws {
        let large = try connection.read { db -> Bool in
            guard let row = try db.query("PRAGMA wal_checkpoint(PASSIVE)").first, let frames = row[1].int,
                  let pageSize = try db.scalar("PRAGMA page_size")?.int else { return false }
            return frames * pageSize > Database.truncateWALAbove
        }
        if large { writer.requestWALTruncation() }
    }

    /// Stops the checkpoints (waits for one in progress, never for the next tick) and closes the second
    /// connection.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        timer.cancel()
        queue.sync {}  // the handler runs on `queue`: once this returns, none is running or will run
        try? connection.close()
    }
}
