import CLinux
import Glibc
public import SystemPackage

/// Flags for ``Socket/send(_:to:flags:)``; `MSG_NOSIGNAL` is always added, so a closed peer is `EPIPE`, never `SIGPIPE`.
public struct SendFlags: OptionSet, Hashable, Sendable {
    /// The raw C bits, as passed to `sendto(2)`.
    public let rawValue: CInt

    /// Wraps raw C send flags.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// Urgent (out-of-band) data on TCP. The corresponding C constant is `MSG_OOB`.
    public static let oob = SendFlags(rawValue: CInt(MSG_OOB))
    /// Bypass routing: only directly connected hosts. The corresponding C constant is `MSG_DONTROUTE`.
    public static let dontRoute = SendFlags(rawValue: CInt(MSG_DONTROUTE))
    /// More data follows: hold the segment or datagram back (cork). The corresponding C constant is `MSG_MORE`.
    public static let more = SendFlags(rawValue: CInt(MSG_MORE))
    /// End of a record, for seqpacket sockets. The corresponding C constant is `MSG_EOR`.
    public static let endOfRecord = SendFlags(rawValue: CInt(MSG_EOR))
    /// The neighbour is known reachable: skip ARP/ND probing. The corresponding C constant is `MSG_CONFIRM`.
    public static let confirm = SendFlags(rawValue: CInt(MSG_CONFIRM))

    private static let table: [(name: String, flag: SendFlags)] = [
        ("oob", .oob), ("dontroute", .dontRoute), ("more", .more), ("eor", .endOfRecord), ("confirm", .confirm),
    ]

    /// The API names, in the order the API lists them.
    public static let allNames: [String] = table.map(\.name)

    /// The flag with API name `name` (`"eor"`); `nil` for anything else.
    public static func named(_ name: String) -> SendFlags? { table.first { $0.name == name }?.flag }
}

/// Flags for ``Socket/receive(maxBytes:flags:maxRights:)``.
public struct ReceiveFlags: OptionSet, Hashable, Sendable {
    /// The raw C bits, as passed to `recvmsg(2)`.
    public let rawValue: CInt

    /// Wraps raw C receive flags.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// Look without consuming. The corresponding C constant is `MSG_PEEK`.
    public static let peek = ReceiveFlags(rawValue: CInt(MSG_PEEK))
    /// Read the urgent (out-of-band) byte of TCP. The corresponding C constant is `MSG_OOB`.
    public static let oob = ReceiveFlags(rawValue: CInt(MSG_OOB))
    /// Ask for all `maxBytes` (a non-blocking socket still returns what is there). The corresponding C constant is `MSG_WAITALL`.
    public static let waitAll = ReceiveFlags(rawValue: CInt(MSG_WAITALL))
    /// Read the error queue instead of the data (`IP_RECVERR` on). The corresponding C constant is `MSG_ERRQUEUE`.
    public static let errorQueue = ReceiveFlags(rawValue: CInt(MSG_ERRQUEUE))
}

/// What one `recvmsg(2)` returned.
public struct ReceivedMessage: Hashable, Sendable {
    /// The bytes read, at most the `maxBytes` asked for.
    public var bytes: [UInt8]
    /// The sender; `nil` when the kernel names none (TCP, unnamed Unix senders) or in an unmodelled family.
    public var from: SocketAddress?
    /// Whether the datagram or record was longer than `maxBytes` and its tail is lost (`MSG_TRUNC`).
    public var truncated: Bool
    /// The datagram's real length when truncated; otherwise `bytes.count`.
    public var fullLength: Int
    /// Whether a stream or seqpacket peer has shut down writing (the read returned 0 with room to spare).
    public var endOfFile: Bool
    /// What came beside the data: descriptors, credentials, packet information, TTL, timestamp, queued error.
    public var control: ReceivedControl

    /// Creates a message (real ones come from ``Socket/receive(maxBytes:flags:maxRights:)``).
    public init(bytes: [UInt8], from: SocketAddress?, truncated: Bool, fullLength: Int, endOfFile: Bool,
                control: ReceivedControl = ReceivedControl()) {
        self.bytes = bytes
        self.from = from
        self.truncated = truncated
        self.fullLength = fullLength
        self.endOfFile = endOfFile
        self.control = control
    }
}

/// Which direction ``Socket/shutdown(_:)`` closes.
public enum ShutdownHow: String, Sendable, CaseIterable {
    /// No more receiving. The corresponding C constant is `SHUT_RD`.
    case read
    /// No more sending: a stream peer sees end of file. The corresponding C constant is `SHUT_WR`.
    case write
    /// Both. The corresponding C constant is `SHUT_RDWR`.
    case both

    /// The `how` argument of `shutdown(2)`.
    var cValue: CInt {
        switch self {
        case .read: CInt(SHUT_RD)
        case .write: CInt(SHUT_WR)
        case .both: CInt(SHUT_RDWR)
        }
    }
}

extension Socket {
    /// Binds to `address` (`bind(2)`); port 0 lets the kernel choose, ``localAddress()`` tells which.
    public func bind(to address: SocketAddress) throws(Errno) {
        let raw = try SockAddrStorage(kernelForm: address)
        _ = try withUnsafeFileDescriptor { fd throws(Errno) in
            try syscall { raw.withSockAddr { Glibc.bind(fd, $0, $1) } }
        }
    }

    /// Starts accepting connections (`listen(2)`); `EOPNOTSUPP` for datagram sockets.
    public func listen(backlog: Int32) throws(Errno) {
        _ = try withUnsafeFileDescriptor { fd throws(Errno) in try syscall { Glibc.listen(fd, backlog) } }
    }

    /// A pending connection, or nil when none is waiting (EAGAIN). The new socket is non-blocking + cloexec (accept4).
    public func accept() throws(Errno) -> (socket: Socket, peer: SocketAddress)? {
        var raw = SockAddrStorage()
        let fd = try withUnsafeFileDescriptor { fd throws(Errno) in
            try nilOnEAGAIN { () throws(Errno) in
                try syscall { raw.withMutableSockAddr { sockpit_accept4(fd, $0, $1, SocketType.creationFlags) } }
            }
        }
        guard let fd else { return nil }
        let socket = Socket(adopting: fd, family: family, type: type, protocol: `protocol`)
        return (socket, try raw.decoded())
    }

    /// true when connected at once, false when the connect is in progress (EINPROGRESS; wait writable, then `pendingError()`).
    public func connect(to address: SocketAddress) throws(Errno) -> Bool {
        let raw = try SockAddrStorage(kernelForm: address)
        do {
            _ = try withUnsafeFileDescriptor { fd throws(Errno) in
                try syscall { raw.withSockAddr { Glibc.connect(fd, $0, $1) } }
            }
            return true
        } catch {
            if error == .nowInProgress { return false }
            throw error
        }
    }

    /// Abandons a connect still in progress (`connect(2)` to an `AF_UNSPEC` address): a TCP socket drops its
    /// handshake and is as it was before the connect, so that a connect its caller gave up on cannot complete later.
    public func abandonConnect() throws(Errno) {
        var unspecified = sockaddr()
        unspecified.sa_family = sa_family_t(AF_UNSPEC)
        _ = try withUnsafeFileDescriptor { fd throws(Errno) in
            try syscall { Glibc.connect(fd, &unspecified, socklen_t(MemoryLayout<sockaddr>.size)) }
        }
    }

    /// Bytes accepted by the kernel, or nil when it would block (EAGAIN): one `sendmsg(2)`, always with
    /// `MSG_NOSIGNAL`.
    ///
    /// `address` is for unconnected datagram sockets; `nil` sends to the connected peer. `control` carries
    /// descriptors and credentials beside the data (Unix sockets); `EINVAL` for more than
    /// ``OutgoingControl/maximumRights`` descriptors.
    public func send(_ bytes: ArraySlice<UInt8>, to address: SocketAddress?, flags: SendFlags,
                     control: OutgoingControl = .none) throws(Errno) -> Int? {
        let raw = try address.map { (address) throws(Errno) in try SockAddrStorage(kernelForm: address) }
        let cFlags = flags.rawValue | CInt(MSG_NOSIGNAL)
        return try control.withEncoded { (controlBuffer) throws(Errno) in
            try withUnsafeFileDescriptor { fd throws(Errno) in
                try nilOnEAGAIN { () throws(Errno) in
                    try syscall {
                        var bytes = bytes
                        return bytes.withUnsafeMutableBytes { buffer in
                            var vector = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
                            return withUnsafeMutablePointer(to: &vector) { vector in
                                var message = msghdr()
                                message.msg_iov = vector
                                message.msg_iovlen = 1
                                message.msg_control = controlBuffer?.baseAddress
                                message.msg_controllen = controlBuffer?.count ?? 0
                                guard let raw else { return sendmsg(fd, &message, cFlags) }
                                return raw.withSockAddr { name, length in
                                    message.msg_name = UnsafeMutableRawPointer(mutating: name)
                                    message.msg_namelen = length
                                    return sendmsg(fd, &message, cFlags)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// One `recvmsg(2)`, with its control messages: nil when nothing is there (EAGAIN). Asks `MSG_TRUNC`
    /// semantics for datagrams so `truncated` and `fullLength` are right, and `MSG_CMSG_CLOEXEC` (on every family
    /// but packet, which refuses the flag and never carries descriptors).
    ///
    /// Up to `maxRights` passed descriptors are received and owned by the caller (`control.rights`); any past
    /// that are closed (or never installed by the kernel) and `control.truncated` says so.
    ///
    /// - Throws: `EINVAL` for a negative `maxBytes` or `maxRights`, else the kernel's `Errno` (`EINVAL` for
    ///   `.oob` with no urgent data).
    public func receive(maxBytes: Int, flags: ReceiveFlags, maxRights: Int = 0) throws(Errno) -> ReceivedMessage? {
        guard maxBytes >= 0, maxRights >= 0 else { throw .invalidArgument }
        // On a stream, MSG_TRUNC means "discard the data"; on datagrams it makes recvmsg return the full length.
        // Packet sockets refuse any flag beyond PEEK, DONTWAIT, TRUNC and ERRQUEUE with EINVAL; no descriptor can
        // arrive on one, so close-on-exec has nothing to guard there.
        let cloexec = family == .packet ? 0 : CInt(MSG_CMSG_CLOEXEC)
        let cFlags = flags.rawValue | (type == .stream ? 0 : CInt(MSG_TRUNC)) | cloexec
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        var raw = SockAddrStorage()
        var messageFlags: CInt = 0
        var control = ReceivedControl()
        let capacity = ReceivedControl.capacity(maxRights: maxRights)
        let count = try withUnsafeFileDescriptor { fd throws(Errno) in
            try withUnsafeTemporaryAllocation(byteCount: capacity, alignment: MemoryLayout<cmsghdr>.alignment) { (space) throws(Errno) in
                try nilOnEAGAIN { () throws(Errno) in
                    try syscall {
                        buffer.withUnsafeMutableBytes { bytes in
                            raw.withMutableSockAddr { name, nameLength in
                                var vector = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
                                return withUnsafeMutablePointer(to: &vector) { vector in
                                    var message = msghdr()
                                    message.msg_name = UnsafeMutableRawPointer(name)
                                    message.msg_namelen = nameLength.pointee
                                    message.msg_iov = vector
                                    message.msg_iovlen = 1
                                    message.msg_control = space.baseAddress
                                    message.msg_controllen = space.count
                                    let result = recvmsg(fd, &message, cFlags)
                                    nameLength.pointee = message.msg_namelen
                                    messageFlags = message.msg_flags
                                    if result >= 0 { control = ReceivedControl(parsing: &message) }
                                    return result
                                }
                            }
                        }
                    }
                }
            }
        }
        guard let count else { return nil }
        // The control buffer has room for other messages too, which the kernel may fill with descriptors: those
        // past `maxRights` are closed here, as if they had not fit.
        if control.rights.count > maxRights {
            for extra in control.rights[maxRights...] { try? extra.close() }
            control.rights.removeSubrange(maxRights...)
            control.truncated = true
        }
        let kept = min(count, maxBytes)
        // A datagram is already consumed: an address we cannot model must not lose it.
        let from = raw.length == 0 ? nil : try? raw.address()
        // Nothing read is the end of a stream; a seqpacket socket also carries empty messages, so there it is the
        // end only once the peer has gone (or reading was shut down).
        let endOfFile = count == 0 && maxBytes > 0 && (type == .stream || type == .seqpacket && peerHasHungUp())
        return ReceivedMessage(
            bytes: Array(buffer[..<kept]), from: from, truncated: messageFlags & CInt(MSG_TRUNC) != 0,
            fullLength: count, endOfFile: endOfFile, control: control
        )
    }

    /// Closes one or both directions (`shutdown(2)`); `ENOTCONN` when not connected.
    public func shutdown(_ how: ShutdownHow) throws(Errno) {
        _ = try withUnsafeFileDescriptor { fd throws(Errno) in try syscall { Glibc.shutdown(fd, how.cValue) } }
    }

    /// The address the socket is bound to (`getsockname(2)`); unnamed Unix sockets answer `.unix(path: "")`.
    public func localAddress() throws(Errno) -> SocketAddress {
        try queryAddress { getsockname($0, $1, $2) }
    }

    /// The connected peer's address (`getpeername(2)`); `ENOTCONN` when there is none.
    public func peerAddress() throws(Errno) -> SocketAddress {
        try queryAddress { getpeername($0, $1, $2) }
    }

    private func queryAddress(
        _ call: (CInt, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt
    ) throws(Errno) -> SocketAddress {
        var raw = SockAddrStorage()
        _ = try withUnsafeFileDescriptor { fd throws(Errno) in
            try syscall { raw.withMutableSockAddr { call(fd, $0, $1) } }
        }
        return try raw.decoded()
    }
}

/// Runs a non-blocking call; `nil` when it would block.
func nilOnEAGAIN<T>(_ body: () throws(Errno) -> T) throws(Errno) -> T? {
    do {
        return try body()
    } catch {
        if error == .resourceTemporarilyUnavailable { return nil }
        throw error
    }
}

extension SockAddrStorage {
    /// Encodes an address for a syscall whose failures are all `Errno`s.
    ///
    /// Only a hand-built `.unix`/`.abstract` case (the validating initialisers reject it) can fail here:
    /// its name does not fit `sun_path`, reported as `ENAMETOOLONG`.
    init(kernelForm address: SocketAddress) throws(Errno) {
        do { try self.init(address) } catch { throw .fileNameTooLong }
    }

    /// Decodes what the kernel wrote; an address of a family ``SocketAddress`` does not model is `EAFNOSUPPORT`.
    func decoded() throws(Errno) -> SocketAddress {
        do { return try address() } catch { throw .addressFamilyNotSupported }
    }
}

extension Socket {
    /// True when the peer has shut down its side or the connection is gone (POLLRDHUP / POLLHUP), checked
    /// without waiting: tells "no urgent data yet" from "no urgent data ever" after an out-of-band wait.
    public func peerHasHungUp() -> Bool {
        let rdhup: Int16 = 0x2000  // POLLRDHUP (Linux; Glibc exports it only under _GNU_SOURCE)
        let hungUp = try? withUnsafeFileDescriptor { fd in
            var descriptor = pollfd(fd: fd, events: rdhup | Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) == 1 else { return false }
            return descriptor.revents & (rdhup | Int16(POLLHUP) | Int16(POLLERR)) != 0
        }
        return hungUp ?? true
    }
}
