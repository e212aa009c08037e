import CSQLite

/// A failure reported by SQLite, or a misuse of this wrapper, with everything needed to diagnose it.
///
/// Keeps both the primary and the extended result code (STYLE.md rule 11), so repositories can tell
/// `SQLITE_CONSTRAINT_UNIQUE` from `SQLITE_CONSTRAINT_FOREIGNKEY` and turn each into its domain error.
public struct DatabaseError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The primary result code, e.g. 19 (`SQLITE_CONSTRAINT`); always `extendedCode & 0xFF`.
    public let resultCode: Int32
    /// The extended result code, e.g. 2067 (`SQLITE_CONSTRAINT_UNIQUE`).
    public let extendedCode: Int32
    /// SQLite's own message (`sqlite3_errmsg`), e.g. "UNIQUE constraint failed: sockets.id".
    public let message: String
    /// The SQL that failed, when there was one.
    public let sql: String?

    /// Creates an error from its parts; `resultCode` is derived from `extendedCode`.
    public init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.resultCode = extendedCode & 0xFF
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    /// Whether a `UNIQUE`, `NOT NULL`, `CHECK`, `FOREIGN KEY` or primary-key constraint refused the change.
    public var isConstraintViolation: Bool { resultCode == SQLITE_CONSTRAINT }

    /// Whether a `UNIQUE` constraint or a primary key refused a duplicate (e.g. an id already taken).
    public var isUniqueViolation: Bool {
        extendedCode == sockpit_sqlite_constraint_unique || extendedCode == sockpit_sqlite_constraint_primarykey
    }

    /// Whether a `FOREIGN KEY` constraint refused the change (a parent row is missing or still referenced).
    public var isForeignKeyViolation: Bool { extendedCode == sockpit_sqlite_constraint_foreignkey }

    /// Whether a `CHECK` constraint refused the change.
    public var isCheckViolation: Bool { extendedCode == sockpit_sqlite_constraint_check }

    /// Whether another connection (or process) held the lock longer than the busy timeout.
    public var isBusy: Bool { resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED }

    /// Whether the failure is the database's or the machine's rather than the statement's: a full disk, I/O, a
    /// lock held too long, a read-only or unopenable file, memory, corruption. A write that met one may succeed
    /// later as it is; any other failure (a constraint, an SQL error) would fail again.
    public var isEnvironmental: Bool {
        [SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_NOMEM,
         SQLITE_PROTOCOL, SQLITE_CORRUPT, SQLITE_NOTADB].contains(resultCode)
    }

    /// Whether the disk (or a quota) had no room for the write: SQLITE_FULL.
    public var isDiskFull: Bool { resultCode == SQLITE_FULL }

    /// Thrown by every use of a `Database` after `close()`.
    public static let closed = DatabaseError(extendedCode: SQLITE_MISUSE, message: "database is closed")

    /// Whether this is `DatabaseError.closed`.
    public var isClosed: Bool { self == .closed }

    /// One line for logs: codes, SQLite's name for them, the message, and the SQL if any.
    public var description: String {
        var text = "SQLite error \(extendedCode) (\(String(cString: sqlite3_errstr(extendedCode)))): \(message)"
        if let sql { text += " — SQL: \(sql)" }
        return text
    }
}

extension DatabaseError {
    /// Reads the error SQLite just recorded on `db`; call it right after the failing call, before any other.
    ///
    /// `code` is what the failing call returned. The connection's extended code is preferred when it
    /// agrees with it, since some calls (e.g. `sqlite3_exec`) return only the primary code.
    init(code: Int32, db: OpaquePointer?, sql: String?) {
        guard let db else {
            self.init(extendedCode: code, message: String(cString: sqlite3_errstr(code)), sql: sql)
            return
        }
        let extended = sqlite3_extended_errcode(db)
        let best = (extended & 0xFF) == (code & 0xFF) ? extended : code
        self.init(extendedCode: best, message: String(cString: sqlite3_errmsg(db)), sql: sql)
    }

    /// A misuse of this wrapper (wrong binding count, several statements where one is expected, …).
    static func misuse(_ message: String, sql: String? = nil) -> DatabaseError {
        DatabaseError(extendedCode: SQLITE_MISUSE, message: message, sql: sql)
    }
}
