/// The history's rows: records to columns and back, and the statements that write them.
extension SQLiteHistory {
    /// Appends `event` and returns it both as the write's value and as the batch's published events.
    static func inserting(_ event: EventRecord, into db: Connection) throws -> (EventRecord, [EventRecord]) {
        let stored = try insert(event, into: db)
        return (stored, [stored])
    }

    static func insert(_ socket: SocketRecord, into db: Connection) throws {
        try db.run(
            """
            INSERT INTO sockets (id, family, type, protocol, label, state, local_address, peer_address, parent_id,
                options, created_at, closed_at, close_reason, bytes_sent, bytes_received, messages_sent,
                messages_received, updated_at, cookie, peer_credentials, netns, memberships)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, columns(of: socket))
    }

    static func update(_ socket: SocketRecord, into db: Connection) throws {
        try db.run(
            """
            UPDATE sockets SET state = ?, local_address = ?, peer_address = ?, options = ?, closed_at = ?,
                close_reason = ?, bytes_sent = ?, bytes_received = ?, messages_sent = ?, messages_received = ?,
                updated_at = ?, peer_credentials = ?, memberships = ?
            WHERE id = ?
            """,
            [.init(socket.state), .init(socket.localAddress), .init(socket.peerAddress), .init(socket.options),
             .init(socket.closedAt), .init(socket.closeReason), .integer(socket.bytesSent),
             .integer(socket.bytesReceived), .integer(socket.messagesSent), .integer(socket.messagesReceived),
             .integer(socket.updatedAt), .init(socket.peerCredentials), .init(socket.memberships), .text(socket.id)])
    }

    /// Only counters moved: leaves the indexed columns (and their index pages) alone.
    static func updateCounters(_ socket: SocketRecord, into db: Connection) throws {
        try db.run(
            """
            UPDATE sockets SET bytes_sent = ?, bytes_received = ?, messages_sent = ?, messages_received = ?,
                updated_at = ?
            WHERE id = ?
            """,
            [.integer(socket.bytesSent), .integer(socket.bytesReceived), .integer(socket.messagesSent),
             .integer(socket.messagesReceived), .integer(socket.updatedAt), .text(socket.id)])
    }

    /// Consecutive socket writes of one batch: each row once (inserted or updated to its newest state), then
    /// every event in order; returns the events with their ids.
    static func apply(_ writes: [SocketWrite], to db: Connection) throws -> [EventRecord] {
        var rows: [String: (kind: SocketWrite.Kind, record: SocketRecord)] = [:]
        var order: [String] = []
        for write in writes {
            if let row = rows[write.socket.id] {
                rows[write.socket.id] = (row.kind.merged(with: write.kind), write.socket)
            } else {
                rows[write.socket.id] = (write.kind, write.socket)
                order.append(write.socket.id)
            }
        }
        for id in order {
            let (kind, socket) = rows[id]!
            switch kind {
            case .insert: try insert(socket, into: db)
            case .update: try update(socket, into: db)
            case .counters: try updateCounters(socket, into: db)
            }
        }
        return try writes.map { try insert($0.event, into: db) }
    }

    static func insert(_ event: EventRecord, into db: Connection) throws -> EventRecord {
        try db.run(
            """
            INSERT INTO events (at, socket_id, probe_id, op, outcome, errno, error_message, duration_us, args, result, bytes,
                netns)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(event.at), .init(event.socketID), .init(event.probeID), .text(event.op), .text(event.outcome),
             .init(event.errno), .init(event.errorMessage), .init(event.durationUs), .init(event.args),
             .init(event.result), .init(event.bytes), .init(event.netns)])
        var stored = event
        stored.id = db.lastInsertRowID
        return stored
    }

    static func columns(of s: SocketRecord) -> [SQLValue] {
        [.text(s.id), .text(s.family), .text(s.type), .init(s.protocol), .init(s.label), .text(s.state),
         .init(s.localAddress), .init(s.peerAddress), .init(s.parentID), .init(s.options), .integer(s.createdAt),
         .init(s.closedAt), .init(s.closeReason), .integer(s.bytesSent), .integer(s.bytesReceived),
         .integer(s.messagesSent), .integer(s.messagesReceived), .integer(s.updatedAt), .init(s.cookie),
         .init(s.peerCredentials), .init(s.netns), .init(s.memberships)]
    }

    static func socket(from row: Row) -> SocketRecord {
        var record = SocketRecord(
            id: row["id"].string ?? "", family: row["family"].string ?? "", type: row["type"].string ?? "",
            protocol: row["protocol"].string, label: row["label"].string, state: row["state"].string ?? "",
            createdAt: row["created_at"].int ?? 0)
        record.seq = row["seq"].int ?? 0
        record.localAddress = row["local_address"].detail
        record.peerAddress = row["peer_address"].detail
        record.parentID = row["parent_id"].string
        record.cookie = row["cookie"].string
        record.peerCredentials = row["peer_credentials"].detail
        record.netns = row["netns"].string
        record.memberships = row["memberships"].detail
        record.options = row["options"].detail
        record.closedAt = row["closed_at"].int
        record.closeReason = row["close_reason"].string
        record.bytesSent = row["bytes_sent"].int ?? 0
        record.bytesReceived = row["bytes_received"].int ?? 0
        record.messagesSent = row["messages_sent"].int ?? 0
        record.messagesReceived = row["messages_received"].int ?? 0
        record.updatedAt = row["updated_at"].int ?? 0
        return record
    }

    static func event(from row: Row) -> EventRecord {
        var event = EventRecord(
            at: row["at"].int ?? 0, socketID: row["socket_id"].string, probeID: row["probe_id"].string,
            op: row["op"].string ?? "", outcome: row["outcome"].string ?? "", errno: row["errno"].string,
            errorMessage: row["error_message"].string, durationUs: row["duration_us"].int, args: row["args"].detail,
            result: row["result"].detail, bytes: row["bytes"].int)
        event.id = row["id"].int ?? 0
        event.netns = row["netns"].string
        return event
    }
}
