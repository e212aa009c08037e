/// One socket operation's history, acknowledged once it is in the pending log and applied to SQLite later:
/// the session row as it now is, and the event that records the operation.
struct PendingWrite: Sendable, Equatable {
    /// What the row needs in SQLite.
    enum Kind: UInt8, Sendable {
        /// A new session: INSERT.
        case insert = 0
        /// State, addresses, options or close columns changed: UPDATE of every column.
        case update = 1
        /// Only the counters moved: UPDATE of those, which leaves the indexed columns' pages alone.
        case counters = 2
    }

    var kind: Kind
    var socket: SocketRecord
    /// Its `id` is assigned when the write is appended to the log.
    var event: EventRecord
}

// MARK: - Log framing

extension PendingWrite {
    /// The log record: payload length (u32 LE), FNV-1a checksum of the payload (u32 LE), payload. A record cut
    /// short by a crash fails the length or the checksum, and so does everything after it: the log is read up
    /// to its first bad record.
    func framed() -> [UInt8] {
        var payload = ByteWriter()
        payload.byte(kind.rawValue)
        payload.socket(socket)
        payload.event(event)
        var frame = ByteWriter()
        frame.bytes.reserveCapacity(payload.bytes.count + 8)
        frame.u32(UInt32(payload.bytes.count))
        frame.u32(Self.checksum(payload.bytes[...]))
        frame.bytes += payload.bytes
        return frame.bytes
    }

    /// Every whole record at the start of `log`, and the length they span (where a torn tail begins).
    static func records(in log: [UInt8]) -> (writes: [PendingWrite], validLength: Int) {
        var writes: [PendingWrite] = []
        var offset = 0
        while log.count - offset >= 8 {
            var header = ByteReader(log[offset..<offset + 8])
            guard let length = header.u32().map(Int.init), let sum = header.u32(),
                  length <= log.count - offset - 8 else { break }
            let payload = log[offset + 8..<offset + 8 + length]
            guard checksum(payload) == sum else { break }
            var reader = ByteReader(payload)
            guard let kind = reader.byte().flatMap(Kind.init(rawValue:)), let socket = reader.socket(),
                  let event = reader.event(), reader.isAtEnd else { break }
            writes.append(PendingWrite(kind: kind, socket: socket, event: event))
            offset += 8 + length
        }
        return (writes, offset)
    }

    /// 32-bit FNV-1a: detects a torn or overwritten record, which is all the log needs (not an integrity MAC).
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash ^= UInt32(byte)
            hash &*= 16_777_619
        }
        return hash
    }
}

/// Little-endian fields, strings as length + UTF-8, optionals behind a presence byte.
private struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func int(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func int(_ value: Int64?) {
        guard let value else { return byte(0) }
        byte(1)
        int(value)
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func string(_ value: String?) {
        guard let value else { return byte(0) }
        byte(1)
        string(value)
    }

    mutating func socket(_ s: SocketRecord) {
        string(s.id); string(s.family); string(s.type); string(s.protocol); string(s.label); string(s.state)
        string(s.localAddress); string(s.peerAddress); string(s.parentID); string(s.options)
        int(s.createdAt); int(s.closedAt); string(s.closeReason)
        int(s.bytesSent); int(s.bytesReceived); int(s.messagesSent); int(s.messagesReceived); int(s.updatedAt)
    }

    mutating func event(_ e: EventRecord) {
        int(e.id); int(e.at); string(e.socketID); string(e.probeID); string(e.op); string(e.outcome)
        string(e.errno); string(e.errorMessage); int(e.durationUs); string(e.args); string(e.result); int(e.bytes)
    }
}

/// Reads what `ByteWriter` wrote; nil as soon as anything is short or malformed.
private struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    private var offset: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        offset = bytes.startIndex
    }

    var isAtEnd: Bool { offset == bytes.endIndex }

    mutating func byte() -> UInt8? {
        guard offset < bytes.endIndex else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func fixed(_ count: Int) -> UInt64? {
        guard bytes.endIndex - offset >= count else { return nil }
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += count
        return value
    }

    mutating func u32() -> UInt32? { fixed(4).map { UInt32(truncatingIfNeeded: $0) } }

    mutating func int() -> Int64? { fixed(8).map { Int64(bitPattern: $0) } }

    /// An optional: `.some(nil)` for an absent value, nil when malformed.
    private mutating func optional<T>(_ read: (inout ByteReader) -> T?) -> T?? {
        switch byte() {
        case 0: return .some(nil)
        case 1: return read(&self).map { .some($0) }
        default: return nil
        }
    }

    mutating func optionalInt() -> Int64?? { optional { $0.int() } }

    mutating func string() -> String? {
        guard let length = u32().map(Int.init), bytes.endIndex - offset >= length else { return nil }
        defer { offset += length }
        return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
    }

    mutating func optionalString() -> String?? { optional { $0.string() } }

    mutating func socket() -> SocketRecord? {
        guard let id = string(), let family = string(), let type = string(), let proto = optionalString(),
              let label = optionalString(), let state = string(), let local = optionalString(),
              let peer = optionalString(), let parent = optionalString(), let options = optionalString(),
              let createdAt = int(), let closedAt = optionalInt(), let closeReason = optionalString(),
              let bytesSent = int(), let bytesReceived = int(), let messagesSent = int(),
              let messagesReceived = int(), let updatedAt = int() else { return nil }
        var record = SocketRecord(id: id, family: family, type: type, protocol: proto, label: label, state: state,
                                  createdAt: createdAt)
        record.localAddress = local
        record.peerAddress = peer
        record.parentID = parent
        record.options = options
        record.closedAt = closedAt
        record.closeReason = closeReason
        record.bytesSent = bytesSent
        record.bytesReceived = bytesReceived
        record.messagesSent = messagesSent
        record.messagesReceived = messagesReceived
        record.updatedAt = updatedAt
        return record
    }

    mutating func event() -> EventRecord? {
        guard let id = int(), let at = int(), let socketID = optionalString(), let probeID = optionalString(),
              let op = string(), let outcome = string(), let errno = optionalString(),
              let message = optionalString(), let duration = optionalInt(), let args = optionalString(),
              let result = optionalString(), let count = optionalInt() else { return nil }
        var event = EventRecord(at: at, socketID: socketID, probeID: probeID, op: op, outcome: outcome, errno: errno,
                                errorMessage: message, durationUs: duration, args: args, result: result, bytes: count)
        event.id = id
        return event
    }
}
