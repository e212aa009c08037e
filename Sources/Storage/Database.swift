public import Logging
import CSQLite
import Dispatch
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One SQLite database file: one connection that writes, and — once WAL is on — a few that only read.
///
/// The writing connection is behind an internal `Mutex`, so statements never interleave and each `write` is one
/// transaction; in the server only the history writer's thread writes (`HistoryWriter`). Reads run on reader
/// connections of their own (`read`), which in WAL mode see the last commit without waiting for the writer.
///
/// The lock is not reentrant: never call `read`/`write` from inside another `read`/`write` closure;
/// use the `Connection` you were given.
public final class Database: Sendable {
    /// The file path this database was opened at.
    public let path: String
    /// Prepared statements, reused across closures; guarded by the same lock as the connection.
    private let statementCache = StatementCache()
    /// Where connection-level problems (leaks, failed rollbacks, checkpoints) are reported.
    let logger: Logger
    /// The connection, owned by the handle and guarded by the lock (STYLE.md rule 5).
    private let state: Mutex<ConnectionHandle>

    /// Connections that only read, opened once WAL is on (`enableWAL`): WAL readers see the last commit without
    /// waiting for the writer, and the writer never waits for them. Empty before: reads share the connection.
    private let readers = Mutex<ReaderPool>(ReaderPool())
    /// Bounds how many reads run at once (one per reader connection).
    private let readerSlots = DispatchSemaphore(value: Database.readerCount)
    /// Reader connections kept open; reads beyond it wait for one.
    static let readerCount = 4

    /// The reader connections, each a `Database` of its own (its own lock and statement cache).
    private struct ReaderPool {
        var enabled = false
        var idle: [Database] = []
        var all: [Database] = []
    }

    /// One server per database (`lockForWriting`); released at `close()`.
    private let writeLock: DatabaseLock

    /// How long a statement waits for another connection's lock before failing with SQLITE_BUSY.
    static let busyTimeoutMilliseconds: Int32 = 5000

    /// Opens the database at `path`, creating the file and its parent directory when missing.
    ///
    /// Enables foreign keys and a busy timeout, but deliberately leaves the journal mode alone: a
    /// database that the migrator then refuses (schema too new) must stay byte-for-byte untouched.
    /// Call `enableWAL()` after migrating.
    public init(path: String, logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "db.path"] = "\(path)"
        self.path = path
        self.logger = logger
        writeLock = DatabaseLock(databasePath: path)
        try Self.createParentDirectory(of: path)
        var handle = try ConnectionHandle(path: path, logger: logger)
        do {
            try handle.withUnsafeHandle { raw in try Self.configure(raw, logger: logger) }
        } catch {
            try? handle.close()
            throw error
        }
        state = Mutex(handle)
    }

    /// Switches to write-ahead logging with `synchronous=NORMAL`, the usual server setting: readers
    /// never block the writer, and a power loss can lose the last commits but never corrupt the file.
    ///
    /// Throws if SQLite answers anything but `wal` (e.g. for an in-memory database).
    public func enableWAL() throws {
        try withConnection { connection in
            let mode = try connection.scalar("PRAGMA journal_mode = WAL")?.string?.lowercased()
            guard mode == "wal" else {
                throw DatabaseError(extendedCode: SQLITE_ERROR, message: "journal_mode=WAL refused; mode is \(mode ?? "unknown")",
                                    sql: "PRAGMA journal_mode = WAL")
            }
            try connection.execute("PRAGMA synchronous = NORMAL")
            // After a checkpoint that reset the log, the file is cut back to this size rather than kept at its peak.
            try connection.execute("PRAGMA journal_size_limit = \(Self.journalSizeLimit)")
        }
        readers.withLock { $0.enabled = path != ":memory:" && path != "" }
    }

    /// Set by the checkpointer when the log holds more than `truncateWALAbove` (the WAL is not restarting: its
    /// passive copies cannot catch up with the writes); taken by the writer between two transactions.
    let walTruncationRequested = Atomic<Bool>(false)
    /// True while the writer truncates the WAL (`truncateWALIfRequested`).
    let walTruncating = Atomic<Bool>(false)
    /// Truncations of the WAL that readers kept from finishing (`truncateWALIfRequested`).
    let walTruncationsBlocked = Atomic<Int>(0)
    /// When a blocked truncation was last logged (monotonic seconds).
    let walTruncationBlockedLoggedAt = Atomic<Int64>(0)

    /// Runs `body` in one `BEGIN IMMEDIATE … COMMIT` transaction; anything thrown rolls it all back.
    public func write<T>(_ body: (Connection) throws -> T) throws -> T {
        try withConnection { connection in
            try connection.transaction { try body(connection) }
        }
    }

    /// Runs `body` without a transaction on a reader connection (once WAL is on; before, on the writer's): each
    /// statement sees the latest commit, so every write acknowledged before the call.
    ///
    /// A transaction that `body` leaves open is rolled back and reported.
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        guard readers.withLock({ $0.enabled }) else { return try readHere(body) }
        yieldToWALTruncation()
        readerSlots.wait()
        defer { readerSlots.signal() }
        let reader = try readers.withLock { pool throws -> Database in
            if let reader = pool.idle.popLast() { return reader }
            let reader = try Database(path: path, logger: logger)
            try reader.withConnection { try $0.execute("PRAGMA query_only = 1") }
            pool.all.append(reader)
            return reader
        }
        defer { readers.withLock { $0.idle.append(reader) } }
        return try reader.readHere(body)
    }

    /// `read` on this very connection.
    private func readHere<T>(_ body: (Connection) throws -> T) throws -> T {
        try withConnection { connection in
            let value: T
            do {
                value = try body(connection)
            } catch {
                connection.rollbackIfNeeded()
                throw error
            }
            guard !connection.isInTransaction else {
                connection.rollbackIfNeeded()
                throw DatabaseError.misuse("a read closure left a transaction open; use Database.write")
            }
            return value
        }
    }

    /// Claims the database for this process's history writer: an exclusive lock that a second server is refused
    /// (clearly, naming the file), and a check that no older version left acknowledged history beside it
    /// (`LegacyPendingLog`). Call it before migrating; idempotent; released by `close()`.
    public func lockForWriting() throws {
        try writeLock.acquire()
        do { try LegacyPendingLog.check(databasePath: path) } catch {
            writeLock.release()
            throw error
        }
    }

    /// `PRAGMA integrity_check`: `"ok"` when healthy, otherwise SQLite's findings, one per line.
    public func integrityCheck() throws -> String {
        try read { connection in
            try connection.query("PRAGMA integrity_check").compactMap { $0[0].string }.joined(separator: "\n")
        }
    }

    /// Checkpoints the WAL into the main file and closes the connection; later calls do nothing.
    ///
    /// Every other method throws `DatabaseError.closed` afterwards. A checkpoint that cannot complete
    /// (another process is reading) is logged, not thrown: the data is safe in the WAL and the next
    /// opener replays it.
    public func close() throws {
        let pool = readers.withLock { pool in
            defer { pool = ReaderPool() }
            return pool.all
        }
        for reader in pool { try? reader.closeReader() }
        defer { writeLock.release() }
        try state.withLock { (handle: inout ConnectionHandle) throws(DatabaseError) in
            guard !handle.isClosed else { return }
            let logger = logger
            do {
                try handle.withUnsafeHandle { raw in
                    let connection = Connection(raw: raw, scope: AccessScope(), logger: logger)
                    // Columns: busy, WAL frames, frames checkpointed; -1s mean "not in WAL mode".
                    if let row = try connection.query("PRAGMA wal_checkpoint(TRUNCATE)").first, row[0].int != 0 {
                        logger.warning("WAL checkpoint incomplete at close: database busy")
                    }
                }
            } catch {
                logger.warning("WAL checkpoint failed at close", metadata: ["db.error": "\(error)"])
            }
            statementCache.statements.removeAll()  // finalize before the handle closes
            try handle.close()
            logger.debug("database closed")
        }
    }

    /// Closes a reader connection (no checkpoint: the writer's close does it).
    private func closeReader() throws {
        try state.withLock { (handle: inout ConnectionHandle) throws(DatabaseError) in
            statementCache.statements.removeAll()
            try handle.close()
        }
    }

    /// Runs `body` with the connection under the lock, throwing `DatabaseError.closed` once closed.
    func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        // The result goes through a captured variable, not withLock's `sending` return value: a generic
        // T made from a task-isolated closure could not be proven disconnected, though it is never shared.
        var outcome: Result<T, any Error> = .failure(DatabaseError.closed)
        let logger = logger
        state.withLock { handle in
            outcome = Result {
                try handle.withUnsafeHandle { raw in
                    let scope = AccessScope()
                    defer { scope.isOpen = false }
                    return try body(Connection(raw: raw, scope: scope, logger: logger, cache: statementCache))
                }
            }
        }
        return try outcome.get()
    }

    /// Per-connection settings; none of them writes to the file.
    private static func configure(_ raw: RawConnection, logger: Logger) throws {
        let db = raw.pointer
        var code = sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        guard code == SQLITE_OK else { throw DatabaseError(code: code, db: db, sql: nil) }
        code = sockpit_sqlite_disable_double_quoted_strings(db)
        guard code == SQLITE_OK else { throw DatabaseError(code: code, db: db, sql: nil) }
        let connection = Connection(raw: raw, scope: AccessScope(), logger: logger)
        try connection.execute("PRAGMA foreign_keys = ON")
        // A SQLite built without foreign-key support accepts the PRAGMA silently; refuse to run on it.
        guard try connection.scalar("PRAGMA foreign_keys")?.int == 1 else {
            throw DatabaseError(extendedCode: SQLITE_ERROR, message: "this SQLite cannot enforce foreign keys")
        }
    }

    /// Creates the directory that will hold the file; `:memory:` and bare file names need none.
    private static func createParentDirectory(of path: String) throws {
        guard path != ":memory:", let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let directory = String(path[..<slash])
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DatabaseError(extendedCode: SQLITE_CANTOPEN, message: "cannot create directory \(directory): \(error)")
        }
    }
}
