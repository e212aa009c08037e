import CSQLite
import Logging

/// The `sqlite3*` pointer, made `Sendable` so it can leave the mutex's region as a plain value.
///
/// Sound because every connection is opened with `SQLITE_OPEN_FULLMUTEX` (SQLite's "serialized" mode,
/// in which a handle may be used from any thread), and because `Database` only hands it out under its
/// own lock anyway. The `@unchecked` is what lets `Mutex.withLock` return results without region errors.
struct RawConnection: @unchecked Sendable {
    /// The `sqlite3*`; never freed through this copy, only by `ConnectionHandle.close()`.
    let pointer: OpaquePointer
}

/// The single owner of one `sqlite3*` (STYLE.md rule 5): opens it, frees it in exactly one place
/// (`close()`), refuses access once closed, and closes a leaked handle from `deinit` with a warning.
///
/// Noncopyable so there is never a second owner; lives inside `Database`'s `Mutex`.
struct ConnectionHandle: ~Copyable {
    private var raw: RawConnection?
    private let path: String
    private let logger: Logger

    /// Opens (creating if missing) the database file at `path`.
    init(path: String, logger: Logger) throws(DatabaseError) {
        self.path = path
        self.logger = logger
        // FULLMUTEX: a statement that outlives its closure may still be finalized from another thread.
        // EXRESCODE: every API call returns extended result codes, not only sqlite3_extended_errcode.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE
        var pointer: OpaquePointer?
        let code = sqlite3_open_v2(path, &pointer, flags, nil)
        guard code == SQLITE_OK, let pointer else {
            // SQLite allocates a handle even when opening fails; it must be freed all the same.
            let error = DatabaseError(code: code, db: pointer, sql: nil)
            sqlite3_close_v2(pointer)
            throw error
        }
        raw = RawConnection(pointer: pointer)
    }

    /// Whether `close()` has run.
    var isClosed: Bool { raw == nil }

    /// Lends the open `sqlite3*` to `body`; throws `DatabaseError.closed` once closed (rule 5).
    func withUnsafeHandle<T>(_ body: (RawConnection) throws -> T) throws -> T {
        guard let raw else { throw DatabaseError.closed }
        return try body(raw)
    }

    /// Frees the handle; a second call does nothing.
    mutating func close() throws(DatabaseError) {
        guard let raw else { return }
        self.raw = nil
        try Self.release(raw)
    }

    deinit {
        guard let raw else { return }
        // A Database dropped without close() skips the WAL checkpoint; free the handle but say so.
        logger.warning("database was not closed before being released", metadata: ["db.path": "\(path)"])
        try? Self.release(raw)
    }

    /// The one place a `sqlite3*` is freed.
    ///
    /// `sqlite3_close_v2` rather than `sqlite3_close`: statements still alive somewhere turn the handle
    /// into a "zombie" that SQLite frees with the last of them, instead of failing with SQLITE_BUSY.
    private static func release(_ raw: RawConnection) throws(DatabaseError) {
        let code = sqlite3_close_v2(raw.pointer)
        guard code == SQLITE_OK else { throw DatabaseError(code: code, db: nil, sql: nil) }
    }
}
