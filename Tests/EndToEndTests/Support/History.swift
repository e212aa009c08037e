import Storage

/// One row of the `events` table, as the history tests check it.
struct EventRow: CustomStringConvertible {
    /// The operation (`create`, `bind`, ...).
    let op: String
    /// `ok`, `error` or `timeout`.
    let outcome: String
    /// The errno name of a failure.
    let errno: String?
    /// Payload bytes moved.
    let bytes: Int64?
    /// The arguments, as JSON text.
    let args: String?
    /// The result, as JSON text.
    let result: String?

    /// `op/outcome[/errno]`, for failure messages.
    var description: String { "\(op)/\(outcome)\(errno.map { "/\($0)" } ?? "")" }
}

extension Connection {
    /// The events of socket `id` in the order they were recorded.
    func events(of id: String) throws -> [EventRow] {
        try query("SELECT op, outcome, errno, bytes, args, result FROM events WHERE socket_id = ? ORDER BY id", [.text(id)]).map { row in
            EventRow(op: row["op"].string ?? "", outcome: row["outcome"].string ?? "", errno: row["errno"].string,
                     bytes: row["bytes"].int, args: row["args"].string, result: row["result"].string)
        }
    }

    /// The session row of socket `id`.
    func socketRow(_ id: String) throws -> Row? {
        try query("SELECT * FROM sockets WHERE id = ?", [.text(id)]).first
    }
}
