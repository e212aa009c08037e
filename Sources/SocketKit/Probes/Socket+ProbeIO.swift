import CLinux
import Glibc
import SystemPackage

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
func roundTrip(sentWall: timespec, kernelTime: KernelTime?, userSpace: Duration) -> Duration {
    guard let kernelTime else { return userSpace }
    let kernel = duration(from: sentWall, to: timespec(tv_sec: Int(kernelTime.seconds), tv_nsec: Int(kernelTime.nanoseconds)))
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
