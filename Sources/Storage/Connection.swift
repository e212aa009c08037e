import CSQLite
import Logging

/// Marks the lifetime of one `Database.read`/`write` closure; connections and statements check it, so
/// that one smuggled out of its closure fails loudly instead of racing with the next lock holder.
final class AccessScope {
    /// Set to `false` when the closure returns.
    var isOpen = true
}

/// Access to the database inside one `Database.read` or `Database.write` closure.
///
/// Valid only inside that closure (the lock is held for exactly as long): do not store it or return
/// it. Every method throws `DatabaseError` with SQLite's codes, its message and the failing SQL.
public struct Connection {
    /// The connection; only dereferenced through `handle()`, which checks `scope` first.
    let raw: RawConnection
    /// The closure this connection was lent to.
    let scope: AccessScope
    /// The database's logger, for failures that must not replace the error being thrown (rollback).
    let logger: Logger
    /// Prepared statements kept across closures, by SQL text (nil: prepare each time).
    var cache: StatementCache? = nil

    /// The `sqlite3*`, after checking the closure this connection belongs to is still running.
    func handle() throws(DatabaseError) -> OpaquePointer {
        guard scope.isOpen else {
            throw .misuse("Connection used outside of its Database.read/write closure")
        }
        return raw.pointer
    }

    /// Runs every statement in `sql` in order, discarding result rows; for DDL and migration files.
    ///
    /// Statements are prepared one at a time, so each may use what the previous one created, and a
    /// failure names the exact statement rather than the whole script.
    public func execute(_ sql: String) throws {
        let db = try handle()
        try sql.withCString { start in
            var cursor = start
            while cursor.pointee != 0 {
                let (statement, tail) = try Statement.prepare(cursor, db: db, scope: scope)
                guard let statement else { break }   // only whitespace or comments were left
                while try statement.step() != nil {}
                guard let tail else { break }
                cursor = tail
            }
        }
    }

    /// Compiles exactly one statement, to be bound and stepped (possibly many times) in this closure.
    ///
    /// Throws a misuse error if `sql` holds a second statement: `prepare` would silently ignore it.
    public func prepare(_ sql: String) throws -> Statement {
        let db = try handle()
        return try sql.withCString { start in
            let (statement, tail) = try Statement.prepare(start, db: db, scope: scope)
            guard let statement else { throw DatabaseError.misuse("no SQL statement", sql: sql) }
            if let tail, tail.pointee != 0 {
                // Pure trivia (spaces, comments, ';') prepares to nothing; anything else is a statement
                // or garbage, both of which the caller did not mean to drop.
                let extra: Statement?
                do {
                    extra = try Statement.prepare(tail, db: db, scope: scope).statement
                } catch {
                    throw DatabaseError.misuse("expected exactly one SQL statement", sql: sql)
                }
                if extra != nil { throw DatabaseError.misuse("expected exactly one SQL statement", sql: sql) }
            }
            return statement
        }
    }

    /// A statement for `sql` from the cache (prepared once per connection), or freshly prepared.
    ///
    /// The bench showed re-preparing costing ~10 % of a write path's CPU and half of a point lookup's.
    func cached(_ sql: String) throws -> Statement {
        guard let cache else { return try prepare(sql) }
        if let statement = cache.statements[sql] {
            statement.scope = scope
            return statement
        }
        let statement = try prepare(sql)
        if cache.statements.count < StatementCache.capacity { cache.statements[sql] = statement }
        return statement
    }

    /// Runs one statement with bound parameters, discarding any result rows (INSERT, UPDATE, DELETE).
    public func run(_ sql: String, _ bindings: [SQLValue] = []) throws {
        let statement = try cached(sql)
        defer { try? statement.reset() }
        try statement.bind(bindings)
        while try statement.step() != nil {}
    }

    /// Runs one statement with bound parameters and returns every result row.
    public func query(_ sql: String, _ bindings: [SQLValue] = []) throws -> [Row] {
        let statement = try cached(sql)
        defer { try? statement.reset() }
        try statement.bind(bindings)
        var rows: [Row] = []
        while let row = try statement.step() { rows.append(row) }
        return rows
    }

    /// The first column of the first row, or `nil` when there is no row (`.null` when the value is NULL).
    public func scalar(_ sql: String, _ bindings: [SQLValue] = []) throws -> SQLValue? {
        let statement = try cached(sql)
        // Reset at once: a statement left after its first row would hold a read transaction open.
        defer { try? statement.reset() }
        try statement.bind(bindings)
        return try statement.step()?[0]
    }

    /// The rowid of the most recent successful INSERT on this connection (`sqlite3_last_insert_rowid`).
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(checkedHandle()) }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE (`sqlite3_changes64`).
    public var changes: Int { Int(sqlite3_changes64(checkedHandle())) }

    /// Whether a transaction is open (`sqlite3_get_autocommit` is 0).
    public var isInTransaction: Bool { sqlite3_get_autocommit(checkedHandle()) == 0 }

    /// The handle for the non-throwing properties; escaping a connection is a programming error.
    private func checkedHandle() -> OpaquePointer {
        precondition(scope.isOpen, "Connection used outside of its Database.read/write closure")
        return raw.pointer
    }
}

// MARK: - Transactions

extension Connection {
    /// Runs `body` between `BEGIN IMMEDIATE` and `COMMIT`, rolling back if anything throws.
    ///
    /// IMMEDIATE takes the write lock up front, so a busy database is met (and waited for, up to the
    /// busy timeout) at BEGIN, never half-way through the body where a deferred upgrade could deadlock.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try run("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try run("COMMIT")
            return value
        } catch {
            rollbackIfNeeded()
            throw error
        }
    }

    /// Rolls back an open transaction, if any; a failure is logged, since the original error matters more.
    func rollbackIfNeeded() {
        guard scope.isOpen, isInTransaction else { return }   // SQLite may have rolled back already
        do {
            try execute("ROLLBACK")
        } catch {
            logger.error("rollback failed", metadata: ["db.error": "\(error)"])
        }
    }
}

/// Prepared statements of one connection, reused across closures; only touched under the database lock.
final class StatementCache: @unchecked Sendable {
    /// Enough for every statement the repositories use; ad-hoc SQL beyond it is prepared each time.
    static let capacity = 64
    var statements: [String: Statement] = [:]
}
