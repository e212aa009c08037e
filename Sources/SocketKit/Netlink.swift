import CLinux
import Glibc
public import SystemPackage
import Synchronization

/// One netlink message (netlink(7)): the 16-byte header's fields and the payload after it.
public struct NetlinkMessage: Sendable, Equatable {
    /// `nlmsg_type`: `NLMSG_ERROR` (2), `NLMSG_DONE` (3), or the family's (`RTM_NEWLINK` 16, ...).
    public var type: UInt16
    /// `nlmsg_flags` (`NLM_F_MULTI`, `NLM_F_DUMP_INTR`, ...).
    public var flags: UInt16
    public var sequence: UInt32
    /// The sender's port id (0: the kernel).
    public var portID: UInt32
    /// What follows the header, up to `nlmsg_len`.
    public var payload: [UInt8]

    /// Creates a message.
    public init(type: UInt16, flags: UInt16, sequence: UInt32 = 0, portID: UInt32 = 0, payload: [UInt8]) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = payload
    }

    /// `NLMSG_ERROR`.
    public static let error: UInt16 = 2
    /// `NLMSG_DONE`.
    public static let done: UInt16 = 3
    /// `NLM_F_REQUEST`.
    public static let request: UInt16 = 0x1
    /// `NLM_F_MULTI`.
    public static let multipart: UInt16 = 0x2
    /// `NLM_F_ACK`.
    public static let acknowledge: UInt16 = 0x4
    /// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
    public static let dump: UInt16 = 0x300
    /// `NLM_F_DUMP_INTR`: the dump changed while it was read; it must be read again.
    public static let dumpInterrupted: UInt16 = 0x10

    /// The message's bytes: header (length filled in) and payload, padded to 4 bytes.
    public var encoded: [UInt8] {
        let length = UInt32(16 + payload.count)
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: length, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: type, toByteOffset: 4, as: UInt16.self)
            raw.storeBytes(of: flags, toByteOffset: 6, as: UInt16.self)
            raw.storeBytes(of: sequence, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: portID, toByteOffset: 12, as: UInt32.self)
        }
        return bytes + payload + [UInt8](repeating: 0, count: (4 - payload.count % 4) % 4)
    }

    /// Every whole message in a datagram; a length that runs past the end or under the header ends the list.
    public static func messages(in datagram: [UInt8]) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var offset = 0
        datagram.withUnsafeBytes { raw in
            while offset + 16 <= raw.count {
                let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                guard length >= 16, offset + length <= raw.count else { break }
                messages.append(NetlinkMessage(
                    type: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self),
                    flags: raw.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self),
                    sequence: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self),
                    portID: raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self),
                    payload: Array(raw[(offset + 16)..<(offset + length)])))
                offset += (length + 3) & ~3
            }
        }
        return messages
    }
}

/// The attributes after a netlink payload's fixed header (`struct nlattr` / `struct rtattr`: 16-bit length and type,
/// padded to 4 bytes). Types have `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` masked off: the kernel does not always
/// set the first, so a caller says which attributes nest by asking for them nested.
public struct NetlinkAttributes: Sendable {
    /// Each attribute's type and value, in order.
    public private(set) var entries: [(type: UInt16, value: ArraySlice<UInt8>)] = []

    /// Parses `bytes[offset...]`; a malformed length ends the list.
    public init(_ bytes: [UInt8], from offset: Int = 0) {
        var at = offset
        while at + 4 <= bytes.count {
            let length = Int(UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8)
            let type = (UInt16(bytes[at + 2]) | UInt16(bytes[at + 3]) << 8) & 0x3fff
            guard length >= 4, at + length <= bytes.count else { break }
            entries.append((type, bytes[(at + 4)..<(at + length)]))
            at += (length + 3) & ~3
        }
    }

    /// The first attribute of `type`.
    public subscript(type: UInt16) -> ArraySlice<UInt8>? { entries.first { $0.type == type }?.value }

    /// The attributes nested inside attribute `type`.
    public func nested(_ type: UInt16) -> NetlinkAttributes? { self[type].map { NetlinkAttributes(Array($0)) } }

    /// A NUL-terminated string attribute.
    public func string(_ type: UInt16) -> String? {
        self[type].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// An unsigned attribute of 1, 2, 4 or 8 bytes, in host order.
    public func unsigned(_ type: UInt16) -> UInt64? {
        guard let value = self[type], [1, 2, 4, 8].contains(value.count) else { return nil }
        return value.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}

/// What a netlink request got back: the kernel's errno and, with `NETLINK_EXT_ACK`, its explanation.
public struct NetlinkError: Error, Sendable, CustomStringConvertible {
    public var errno: Errno
    /// The extended acknowledgement's text (`NLMSGERR_ATTR_MSG`), such as "Invalid scope value".
    public var message: String?

    public var description: String { message.map { "\(errno.name): \($0)" } ?? errno.name }
}

/// A netlink socket that asks the kernel and reads its answers: dumps (every part until `NLMSG_DONE`, which may come
/// in a later datagram; read again when `NLM_F_DUMP_INTR` says the table changed meanwhile) and acknowledged
/// requests, with sequence numbers and the kernel's port id checked, and each datagram read whole (its size
/// peeked first, `MSG_PEEK | MSG_TRUNC`).
public final class NetlinkChannel: Sendable {
    public let socket: Socket
    private let nextSequence = Mutex<UInt32>(1)

    /// Opens a netlink socket of `protocol` (`NETLINK_ROUTE` 0, `NETLINK_SOCK_DIAG` 4, ...) in `namespace`, with
    /// extended acknowledgements on.
    public init(protocol netlinkProtocol: SocketProtocol, in namespace: NetworkNamespace? = nil) throws(Errno) {
        socket = try Socket.make(family: .netlink, type: .raw, protocol: netlinkProtocol, in: namespace)
        try? socket.enableExtendedAcknowledgements()
    }

    deinit { try? socket.close() }

    /// Every message of a dump of `type` with `payload` (the family's request header), read again (up to 6 times,
    /// 10 ms apart and doubling) when the kernel says it was interrupted by a change.
    public func dump(type: UInt16, payload: [UInt8], timeout: Duration = .seconds(5)) async throws -> [NetlinkMessage] {
        for attempt in 0..<6 {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(10 << (attempt - 1))) }
            let (messages, interrupted) = try await exchange(type: type, flags: NetlinkMessage.request | NetlinkMessage.dump,
                                                             payload: payload, timeout: timeout)
            if !interrupted { return messages }
        }
        throw NetlinkError(errno: .resourceTemporarilyUnavailable, message: "the dump kept changing while it was read")
    }

    /// Sends one request with `NLM_F_ACK` and waits for its acknowledgement (or error); answers the messages before it.
    public func request(type: UInt16, flags: UInt16 = 0, payload: [UInt8], timeout: Duration = .seconds(5)) async throws -> [NetlinkMessage] {
        try await exchange(type: type, flags: NetlinkMessage.request | NetlinkMessage.acknowledge | flags, payload: payload, timeout: timeout).0
    }

    /// Sends one request that is answered with one message (`NLM_F_REQUEST` alone, such as a sock_diag lookup of
    /// one socket) and returns that answer.
    public func query(type: UInt16, payload: [UInt8], timeout: Duration = .seconds(5)) async throws -> NetlinkMessage? {
        try await exchange(type: type, flags: NetlinkMessage.request, payload: payload, timeout: timeout).0.first
    }

    private func exchange(type: UInt16, flags: UInt16, payload: [UInt8], timeout: Duration) async throws -> ([NetlinkMessage], Bool) {
        let sequence = nextSequence.withLock { value in defer { value &+= 1 }; return value }
        let message = NetlinkMessage(type: type, flags: flags, sequence: sequence, payload: payload)
        _ = try socket.send(message.encoded[...], to: .netlink(pid: 0, groups: 0), flags: [])
        let deadline = ContinuousClock.now + timeout
        var answers: [NetlinkMessage] = []
        var interrupted = false
        while true {
            guard let datagram = try await receiveWhole(until: deadline) else {
                throw NetlinkError(errno: .timedOut, message: "the kernel did not finish answering within \(timeout)")
            }
            guard case .netlink(let pid, _)? = datagram.from, pid == 0 else { continue }  // only the kernel answers
            for answer in NetlinkMessage.messages(in: datagram.bytes) where answer.sequence == sequence {
                if answer.flags & NetlinkMessage.dumpInterrupted != 0 { interrupted = true }
                switch answer.type {
                case NetlinkMessage.done:
                    return (answers, interrupted)
                case NetlinkMessage.error:
                    let code = answer.payload.count >= 4
                        ? answer.payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } : -EIO
                    if code == 0 { return (answers, interrupted) }  // the acknowledgement
                    throw Self.error(from: answer)
                default:
                    answers.append(answer)
                    if answer.flags & NetlinkMessage.multipart == 0, flags & NetlinkMessage.acknowledge == 0 { return (answers, interrupted) }
                }
            }
        }
    }

    /// What a subscription heard: messages, or that the kernel dropped some (`ENOBUFS`: the receive buffer was full).
    public enum Notification: Sendable {
        case messages([NetlinkMessage])
        case overrun
    }

    /// Joins the multicast `groups` (`RTMGRP_*` bits) and, when given, sets the receive buffer (`SO_RCVBUF`):
    /// from now on the kernel sends this socket what changes.
    public func subscribe(groups: UInt32, receiveBuffer: Int? = nil) throws(Errno) {
        if let receiveBuffer { try socket.setOption(.so_rcvbuf, .int(receiveBuffer)) }
        try socket.bind(to: .netlink(pid: 0, groups: groups))
    }

    /// The next notification of a subscription, or nil when none came before `deadline`.
    public func notification(until deadline: ContinuousClock.Instant) async throws -> Notification? {
        do {
            guard let datagram = try await receiveWhole(until: deadline) else { return nil }
            return .messages(NetlinkMessage.messages(in: datagram.bytes))
        } catch let error as Errno where error == .noBufferSpace {
            return .overrun
        }
    }

    /// Throws away what the subscription has queued, after an overrun and before a fresh dump: those changes are
    /// older than the dump. It also matters for what comes next: until its queue has been emptied once, the kernel
    /// drops further changes to a socket it found full without saying so again (`NETLINK_S_CONGESTED`), so a
    /// subscriber that took its snapshot first would miss, silently, what changed while it dumped.
    /// Bounded, so that changes arriving as fast as they are thrown away cannot hold the caller.
    public func discardQueued() throws(Errno) {
        for _ in 0..<100_000 {
            do {
                guard try socket.receive(maxBytes: 1, flags: []) != nil else { return }  // the rest of a datagram goes with it
            } catch .noBufferSpace {
                continue
            }
        }
    }

    /// One datagram, whole: its size peeked first so that nothing is cut off.
    private func receiveWhole(until deadline: ContinuousClock.Instant) async throws -> ReceivedMessage? {
        while true {
            if let peeked = try socket.receive(maxBytes: 1, flags: .peek) {
                return try socket.receive(maxBytes: max(peeked.fullLength, 1), flags: [])
            }
            if try await socket.wait(for: .readable, until: deadline) == .timedOut { return nil }
        }
    }

    /// What an `NLMSG_ERROR` message says: its errno (negated in the message) and extended acknowledgement text.
    public static func error(from message: NetlinkMessage) -> NetlinkError {
        let code = message.payload.count >= 4 ? message.payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } : -EIO
        return NetlinkError(errno: Errno(rawValue: code < 0 ? -code : code), message: extendedMessage(message))
    }

    /// The `NLMSGERR_ATTR_MSG` text after an error's echoed request header (`NLM_F_CAPPED` leaves the request out).
    private static func extendedMessage(_ error: NetlinkMessage) -> String? {
        guard error.payload.count >= 20 else { return nil }
        let capped = error.flags & 0x100 != 0
        let echoed = capped ? 16 : Int(error.payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) })
        let attributes = NetlinkAttributes(error.payload, from: 4 + ((echoed + 3) & ~3))
        return attributes.string(1)  // NLMSGERR_ATTR_MSG
    }
}

extension Socket {
    /// Asks the kernel to explain its netlink errors (`NETLINK_EXT_ACK`): an `NLMSG_ERROR` then carries a text such as
    /// "ipv4: Invalid prefix length".
    public func enableExtendedAcknowledgements() throws(Errno) {
        _ = try withUnsafeFileDescriptor { fd throws(Errno) in
            var on: CInt = 1
            return try syscall { setsockopt(fd, 270, 11, &on, socklen_t(MemoryLayout<CInt>.size)) }  // SOL_NETLINK, NETLINK_EXT_ACK
        }
    }
}
