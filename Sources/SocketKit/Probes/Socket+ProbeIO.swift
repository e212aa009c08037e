import CLinux
import Glibc
import SystemPackage

/// One `recvmsg(2)` of a probe, with what its control messages said.
struct ProbeMessage {
    /// The bytes read (from the error queue: the packet of ours that the error is about).
    var bytes: [UInt8]
    /// The sender, when the kernel names one.
    var from: SocketAddress?
    /// TTL / hop limit of the packet (`IP_TTL` / `IPV6_HOPLIMIT` control message).
    var ttl: Int?
    /// When the kernel received it (`SCM_TIMESTAMPNS`), on the `CLOCK_REALTIME` clock.
    var kernelTime: timespec?
    /// From the error queue: the error the packet caused (`IP_RECVERR` / `IPV6_RECVERR`).
    var error: ExtendedError?
}

/// A `struct sock_extended_err` from the error queue, with its offender address.
struct ExtendedError {
    /// The errno the kernel made of it (`ECONNREFUSED` for a port unreachable).
    var errno: Errno
    /// Whether it came from an ICMP / ICMPv6 message (`SO_EE_ORIGIN_ICMP`, `SO_EE_ORIGIN_ICMP6`) rather than locally.
    var fromICMP: Bool
    /// The ICMP type when ``fromICMP``.
    var type: Int
    /// The ICMP code when ``fromICMP``.
    var code: Int
    /// Who sent the ICMP message (`SO_EE_OFFENDER`).
    var offender: SocketAddress?
}

extension Socket {
    /// `setsockopt(2)` with an `int` at any level, for options ``SocketOption`` does not list.
    func setIntOption(level: CInt, name: CInt, _ value: CInt) throws(Errno) {
        try setRawOption(level: level, name: name, value)
    }

    /// `setsockopt(2)` with a plain C value at any level.
    func setRawOption<T>(level: CInt, name: CInt, _ value: T) throws(Errno) {
        _ = try withUnsafeFileDescriptor { fd throws(Errno) in
            try syscall {
                withUnsafeBytes(of: value) { setsockopt(fd, level, name, $0.baseAddress, socklen_t($0.count)) }
            }
        }
    }

    /// Sets the TTL (`IP_TTL`) or hop limit (`IPV6_UNICAST_HOPS`) of outgoing unicast packets.
    func setHopLimit(_ hops: Int) throws(Errno) {
        guard let hops = CInt(exactly: hops) else { throw .invalidArgument }
        if family == .inet6 {
            try setIntOption(level: CInt(IPPROTO_IPV6), name: CInt(IPV6_UNICAST_HOPS), hops)
        } else {
            try setIntOption(level: CInt(IPPROTO_IP), name: CInt(IP_TTL), hops)
        }
    }

    /// Asks for the error queue (`IP_RECVERR` / `IPV6_RECVERR`) and the TTL / hop limit of each packet received.
    func enableProbeReception(errorQueue: Bool) throws(Errno) {
        if family == .inet6 {
            if errorQueue { try setIntOption(level: CInt(IPPROTO_IPV6), name: CInt(IPV6_RECVERR), 1) }
            try setIntOption(level: CInt(IPPROTO_IPV6), name: CInt(IPV6_RECVHOPLIMIT), 1)
        } else {
            if errorQueue { try setIntOption(level: CInt(IPPROTO_IP), name: CInt(IP_RECVERR), 1) }
            try setIntOption(level: CInt(IPPROTO_IP), name: CInt(IP_RECVTTL), 1)
        }
    }

    /// Asks for the kernel's receive time of each packet (`SO_TIMESTAMPNS`), for round trips that leave out
    /// the wake-up of the waiting task.
    func enableReceiveTimestamps() throws(Errno) {
        try setIntOption(level: SOL_SOCKET, name: CInt(SO_TIMESTAMPNS_OLD), 1)
    }

    /// One `recvmsg(2)` with control messages; nil when nothing is queued (EAGAIN).
    ///
    /// `errorQueue` reads the error queue (`MSG_ERRQUEUE`) instead of the data.
    func receiveProbeMessage(maxBytes: Int, errorQueue: Bool = false) throws(Errno) -> ProbeMessage? {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        var name = sockaddr_storage()
        var nameLength = socklen_t(0)
        var result: ProbeMessage?
        let flags = errorQueue ? CInt(MSG_ERRQUEUE) : 0
        try withUnsafeFileDescriptor { (fd) throws(Errno) in
            try withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { (control) throws(Errno) in
                let count = try nilOnEAGAIN { () throws(Errno) in
                    try syscall {
                        buffer.withUnsafeMutableBytes { bytes in
                            withUnsafeMutablePointer(to: &name) { namePointer in
                                var vector = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
                                return withUnsafeMutablePointer(to: &vector) { vector in
                                    var message = msghdr()
                                    message.msg_name = UnsafeMutableRawPointer(namePointer)
                                    message.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                                    message.msg_iov = vector
                                    message.msg_iovlen = 1
                                    message.msg_control = control.baseAddress
                                    message.msg_controllen = control.count
                                    let count = recvmsg(fd, &message, flags)
                                    if count >= 0 {
                                        nameLength = message.msg_namelen
                                        result = Self.parseControl(&message)
                                    }
                                    return count
                                }
                            }
                        }
                    }
                }
                guard let count else { result = nil; return }
                result?.bytes = Array(buffer[..<min(count, maxBytes)])
            }
        }
        guard var message = result else { return nil }
        if nameLength > 0 { message.from = try? SocketAddress(storage: name, length: nameLength) }
        return message
    }

    /// Reads the control messages a probe asks for; the bytes and sender are filled in by the caller.
    private static func parseControl(_ message: inout msghdr) -> ProbeMessage {
        var result = ProbeMessage(bytes: [], from: nil, ttl: nil, kernelTime: nil, error: nil)
        var header = sockpit_cmsg_firsthdr(&message)
        while let current = header {
            let level = current.pointee.cmsg_level
            let type = current.pointee.cmsg_type
            let data = UnsafeRawPointer(sockpit_cmsg_data(current)!)
            let dataLength = Int(current.pointee.cmsg_len) - (data - UnsafeRawPointer(current))
            switch (level, type) {
            // SCM_TIMESTAMPNS is SO_TIMESTAMPNS, `_OLD` being the 64-bit `timespec` form on 64-bit Linux.
            case (SOL_SOCKET, CInt(SO_TIMESTAMPNS_OLD)) where dataLength >= MemoryLayout<timespec>.size:
                result.kernelTime = data.loadUnaligned(as: timespec.self)
            case (CInt(IPPROTO_IP), CInt(IP_TTL)), (CInt(IPPROTO_IPV6), CInt(IPV6_HOPLIMIT)):
                result.ttl = Int(data.loadUnaligned(as: CInt.self))
            case (CInt(IPPROTO_IP), CInt(IP_RECVERR)), (CInt(IPPROTO_IPV6), CInt(IPV6_RECVERR)):
                result.error = extendedError(data, length: dataLength)
            default:
                break
            }
            header = sockpit_cmsg_nxthdr(&message, current)
        }
        return result
    }

    /// Decodes a `sock_extended_err` and the offender address after it.
    private static func extendedError(_ data: UnsafeRawPointer, length: Int) -> ExtendedError? {
        let size = MemoryLayout<sock_extended_err>.size
        guard length >= size else { return nil }
        let raw = data.loadUnaligned(as: sock_extended_err.self)
        let origin = CInt(raw.ee_origin)
        var offender: SocketAddress?
        if length > size {
            var storage = sockaddr_storage()
            let available = min(length - size, MemoryLayout<sockaddr_storage>.size)
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: data + size, count: available)) }
            if storage.ss_family != sa_family_t(AF_UNSPEC) {
                offender = try? SocketAddress(storage: storage, length: socklen_t(available))
            }
        }
        return ExtendedError(
            errno: Errno(rawValue: CInt(bitPattern: raw.ee_errno)),
            fromICMP: origin == SO_EE_ORIGIN_ICMP || origin == SO_EE_ORIGIN_ICMP6,
            type: Int(raw.ee_type), code: Int(raw.ee_code), offender: offender
        )
    }
}

/// `CLOCK_REALTIME` now, the clock of `SCM_TIMESTAMPNS`.
func realtimeNow() -> timespec {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return now
}

/// `later - earlier`, for two `CLOCK_REALTIME` readings.
func duration(from earlier: timespec, to later: timespec) -> Duration {
    .seconds(Int64(later.tv_sec - earlier.tv_sec)) + .nanoseconds(Int64(later.tv_nsec - earlier.tv_nsec))
}

/// A round trip from the kernel's receive timestamp when it is trustworthy, else from user-space clock readings.
///
/// The kernel's time leaves out the hop through the reactor; a wall-clock step between the two readings
/// would make it nonsense, so it is used only when it lies between zero and the user-space figure.
func roundTrip(sentWall: timespec, kernelTime: timespec?, userSpace: Duration) -> Duration {
    guard let kernelTime else { return userSpace }
    let kernel = duration(from: sentWall, to: kernelTime)
    return kernel >= .zero && kernel <= userSpace ? kernel : userSpace
}

/// What a connected stream answered to a probe.
struct StreamReply {
    /// The bytes read; nil when none came.
    var bytes: [UInt8]?
    /// From the connect to the first byte.
    var firstByte: Duration?
    /// Whether ``PortProbeOptions/expect`` matched; nil without one.
    var matched: Bool?
}

extension Socket {
    /// Sends the payload, if any, then reads the answer of a connected stream or seqpacket socket.
    ///
    /// With an expectation: until it matches, end of file, 4096 bytes or the read deadline. Without one
    /// (banner or payload): the first bytes that arrive and whatever else is already queued with them.
    /// The read deadline is ``PortProbeOptions/readTimeout`` after `connectedAt`; failures (`ECONNRESET`,
    /// `EPIPE`) end the exchange with what was read so far.
    func exchange(options: PortProbeOptions, connectedAt: ContinuousClock.Instant) async -> StreamReply {
        let deadline = connectedAt + options.readTimeout
        guard isOpen else { return StreamReply() }
        if let payload = options.payload, !payload.isEmpty {
            var sent = 0
            while sent < payload.count {
                let count: Int?
                do { count = try send(payload[sent...], to: nil, flags: []) } catch { break }
                if let count {
                    sent += count
                } else if (try? await wait(for: .writable, until: deadline)) != .ready {
                    break
                }
            }
        }
        var bytes: [UInt8] = []
        var firstByte: Duration?
        var matched = false
        let feed = options.expect?.begin()
        reading: while bytes.count < probeReplyLimit {
            let message: ReceivedMessage?
            do { message = try receive(maxBytes: probeReplyLimit - bytes.count, flags: []) } catch { break }
            guard let message else {
                // Without an expectation, the first bytes and what came with them are the answer.
                if options.expect == nil && !bytes.isEmpty { break }
                if (try? await wait(for: .readable, until: deadline)) != .ready { break }
                continue
            }
            if message.bytes.isEmpty {
                // End of file; an empty seqpacket record is not one, but nothing more will come of it either.
                break reading
            }
            if firstByte == nil { firstByte = ContinuousClock.now - connectedAt }
            bytes += message.bytes
            if let feed, feed(message.bytes[...]) {
                matched = true
                break
            }
        }
        return StreamReply(
            bytes: bytes.isEmpty ? nil : bytes, firstByte: firstByte, matched: options.expect == nil ? nil : matched
        )
    }
}
