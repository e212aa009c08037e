import CSQLite

/// One compiled SQL statement: the single owner of its `sqlite3_stmt*` (STYLE.md rule 5).
///
/// Made by `Connection.prepare`; usable only inside the closure that made it (methods throw afterwards).
/// Typical reuse: `bind`, then `step` until `nil`, then `bind` again with the next values.
public final class Statement {
    /// The statement handle; finalized in `deinit`, the one place it is freed.
    private let pointer: OpaquePointer
    /// The closure this statement may be used in; a cached statement moves to each new closure.
    var scope: AccessScope
    /// The SQL text, kept for error reports.
    public let sql: String
    /// Result column names, read once: they are the same for every row.
    public let columnNames: [String]

    private init(pointer: OpaquePointer, scope: AccessScope) {
        self.pointer = pointer
        self.scope = scope
        self.sql = String(cString: sqlite3_sql(pointer))
        self.columnNames = (0..<sqlite3_column_count(pointer)).map { String(cString: sqlite3_column_name(pointer, $0)) }
    }

    deinit {
        // The result code repeats the last step's error, which was already thrown from step().
        sqlite3_finalize(pointer)
    }

    /// Compiles the first statement of the C string at `sql`; also returns where the next one begins.
    ///
    /// `statement` is `nil` when only whitespace or comments were left (SQLite prepares nothing then).
    static func prepare(
        _ sql: UnsafePointer<CChar>, db: OpaquePointer, scope: AccessScope
    ) throws(DatabaseError) -> (statement: Statement?, tail: UnsafePointer<CChar>?) {
        var pointer: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let code = sqlite3_prepare_v2(db, sql, -1, &pointer, &tail)
        guard code == SQLITE_OK else {
            // The failing statement's end is unknown, so report the rest of the script from where it starts.
            let rest = String(cString: sql)
            throw DatabaseError(code: code, db: db, sql: String(rest.drop(while: \.isWhitespace)))
        }
        return (pointer.map { Statement(pointer: $0, scope: scope) }, tail)
    }

    /// Throws unless the closure this statement was prepared in is still running.
    private func checkScope() throws(DatabaseError) {
        guard scope.isOpen else { throw .misuse("Statement used outside of its Database.read/write closure", sql: sql) }
    }

    /// The error SQLite just recorded for this statement.
    private func error(_ code: Int32) -> DatabaseError {
        DatabaseError(code: code, db: sqlite3_db_handle(pointer), sql: sql)
    }

    /// Resets the statement and binds `values` to its parameters `?1…?N` in order.
    ///
    /// The count must match the statement's parameters exactly: a missing value would otherwise bind
    /// as NULL without a word. Text and blobs are copied (`SQLITE_TRANSIENT`), so nothing must outlive
    /// the call.
    public func bind(_ values: [SQLValue]) throws {
        try checkScope()
        let expected = Int(sqlite3_bind_parameter_count(pointer))
        guard values.count == expected else {
            throw DatabaseError.misuse("expected \(expected) bound values, got \(values.count)", sql: sql)
        }
        sqlite3_reset(pointer)   // binding a stepped statement is SQLITE_MISUSE
        for (offset, value) in values.enumerated() {
            let code = bind(value, at: Int32(offset + 1))
            guard code == SQLITE_OK else { throw error(code) }
        }
    }

    private func bind(_ value: SQLValue, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(pointer, index)
        case .integer(let int):
            return sqlite3_bind_int64(pointer, index, int)
        case .real(let double):
            return sqlite3_bind_double(pointer, index, double)
        case .text(var string):
            return string.withUTF8 { utf8 in
                // A nil base address would bind NULL instead of the empty string.
                guard let base = utf8.baseAddress, utf8.count > 0 else {
                    return sqlite3_bind_text(pointer, index, "", 0, sockpit_sqlite_transient())
                }
                return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                    sqlite3_bind_text64(pointer, index, $0, UInt64(utf8.count), sockpit_sqlite_transient(), UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            // Same trap as text: a nil pointer binds NULL, and an empty array may have one.
            guard !bytes.isEmpty else { return sqlite3_bind_zeroblob(pointer, index, 0) }
            return bytes.withUnsafeBytes {
                sqlite3_bind_blob64(pointer, index, $0.baseAddress, UInt64($0.count), sockpit_sqlite_transient())
            }
        }
    }

    /// Advances to the next result row; `nil` once the statement is done.
    public func step() throws -> Row? {
        try checkScope()
        let code = sqlite3_step(pointer)
        switch code {
        case SQLITE_ROW:
            return Row(columns: columnNames, values: (0..<Int32(columnNames.count)).map(column))
        case SQLITE_DONE:
            return nil
        default:
            throw error(code)
        }
    }

    /// Rewinds the statement so it can run again; bindings are kept.
    public func reset() throws {
        try checkScope()
        // The result code repeats the last step's error, which step() already threw.
        sqlite3_reset(pointer)
    }

    /// Copies the value of result column `index` out of SQLite (its buffers die at the next step).
    private func column(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(pointer, index) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(pointer, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(pointer, index))
        case SQLITE_TEXT:
            // Pointer first, then the length: asking for the text may convert it and change the length.
            guard let text = sqlite3_column_text(pointer, index) else { return .text("") }
            let count = Int(sqlite3_column_bytes(pointer, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            guard let blob = sqlite3_column_blob(pointer, index) else { return .blob([]) }  // empty blob
            let count = Int(sqlite3_column_bytes(pointer, index))
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default:
            return .null
        }
    }
}
