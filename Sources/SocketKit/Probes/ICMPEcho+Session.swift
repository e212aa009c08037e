import Glibc
import Synchronization
import SystemPackage

/// One ping's state: the socket, what was sent, and what came back.
struct EchoSession {
    /// An echo request awaiting its answer.
    struct Outstanding {
        /// Its place in the results.
        let index: Int
        /// When it was sent, for the timeout and the user-space round trip.
        let sentAt: ContinuousClock.Instant
        /// When it was sent on the clock of the kernel's receive timestamps.
        let sentWall: timespec
    }

    let socket: Socket
    let host: SocketAddress
    /// The host's address as it appears in packets, to recognise replies and quoted requests.
    let hostBytes: [UInt8]
    let mode: ICMPMode
    let options: EchoOptions
    /// This ping's identifier (raw sockets; ping sockets have the kernel's).
    let identifier: UInt16
    /// The receive buffer size.
    let receiveSize: Int
    /// One per request, filled in as they end.
    var results: [EchoResult?]
    /// Requests sent and not answered yet, by sequence.
    var outstanding: [UInt16: Outstanding] = [:]
    /// The next request to send.
    var nextIndex = 0
    /// How many results are in.
    var resolved = 0

    /// Sets the socket up: filters and control messages.
    init(socket: Socket, host: SocketAddress, mode: ICMPMode, options: EchoOptions) throws(Errno) {
        self.socket = socket
        self.host = host
        self.mode = mode
        self.options = options
        identifier = ICMPEcho.identifiers.wrappingAdd(1, ordering: .relaxed).newValue
        hostBytes = Self.addressBytes(host)
        // Room for the largest reply, or an error quoting an IP header (60 bytes max) and our header.
        receiveSize = max(ICMPPacket.headerSize + options.size + 60, 1280)
        results = Array(repeating: nil, count: options.count)
        let v6 = socket.family == .inet6
        if mode == .raw {
            if v6 {
                try socket.setRawOption(level: CInt(IPPROTO_ICMPV6), name: Self.icmp6Filter, Self.v6Filter)
            } else {
                try socket.setRawOption(level: Self.solRaw, name: Self.icmpFilter, Self.v4Filter)
            }
        }
        // Raw IPv4 reads the TTL from the IP header and its errors as packets; the rest need control messages.
        if mode == .datagram || v6 { try socket.enableProbeReception(errorQueue: mode == .datagram) }
        try? socket.enableReceiveTimestamps()
        if let ttl = options.ttl { try socket.setHopLimit(ttl) }
    }

    /// Sends on schedule and reads answers until every request has its result, or the task is cancelled.
    mutating func run() async -> [EchoResult] {
        let start = ContinuousClock.now
        while resolved < options.count {
            while nextIndex < options.count && sendIsDue(start: start) {
                guard await send(index: nextIndex) else { return abandoned() }
                nextIndex += 1
            }
            drain()
            expire(now: .now)
            guard resolved < options.count else { break }
            var wake = outstanding.values.map { $0.sentAt + options.timeout }.min()
            if nextIndex < options.count && options.interval > .zero {
                let due = start + options.interval * nextIndex
                wake = min(wake ?? due, due)
            }
            guard let wake else { continue }  // interval 0 and nothing outstanding: send the next one now
            // Only cancellation ends a wait with an error: the descriptor is ours and open.
            guard (try? await socket.wait(for: .readable, until: wake)) != nil else { return abandoned() }
        }
        return results.map { $0! }
    }

    /// The results after a cancellation: what is in, and every other request timed out as `ECANCELED`.
    private mutating func abandoned() -> [EchoResult] {
        drain()
        return results.indices.map { index in
            results[index] ?? EchoResult(
                sequence: UInt16(truncatingIfNeeded: index + 1), state: .timeout, errno: Errno.canceled.name
            )
        }
    }

    private func sendIsDue(start: ContinuousClock.Instant) -> Bool {
        options.interval > .zero ? ContinuousClock.now >= start + options.interval * nextIndex : outstanding.isEmpty
    }

    /// Sends one request; a failure is that request's result. False when cancelled while waiting to send.
    private mutating func send(index: Int) async -> Bool {
        let sequence = UInt16(truncatingIfNeeded: index + 1)
        let packet = ICMPPacket.echoRequest(
            family: socket.family, identifier: identifier, sequence: sequence, payloadSize: options.size
        )
        let sentWall = realtimeNow()
        let sentAt = ContinuousClock.now
        while true {
            do {
                if try socket.send(packet[...], to: host, flags: []) != nil { break }
            } catch {
                record(index: index, EchoResult(sequence: sequence, state: .unreachable, errno: error.name))
                return true
            }
            // The send buffer is full: wait for room, within this request's timeout.
            guard let ready = try? await socket.wait(for: .writable, until: sentAt + options.timeout) else {
                return false
            }
            if ready == .timedOut {
                record(index: index, EchoResult(sequence: sequence, state: .timeout))
                return true
            }
        }
        outstanding[sequence] = Outstanding(index: index, sentAt: sentAt, sentWall: sentWall)
        return true
    }

    /// Reads everything queued: errors first (ping sockets), then replies and raw errors.
    private mutating func drain() {
        if mode == .datagram {
            while let message = try? socket.receive(maxBytes: receiveSize, flags: .errorQueue) {
                guard let error = message.control.extendedError, let sequence = ICMPPacket.sequence(ofRequest: message.bytes),
                      let pending = outstanding[sequence] else { continue }
                record(sequence: sequence, pending, EchoResult(
                    sequence: sequence, state: .unreachable, rtt: rtt(pending, message), ttl: message.control.hopLimit,
                    from: error.offender, errno: error.errno.name, icmpType: error.fromICMP ? error.type : nil,
                    icmpCode: error.fromICMP ? error.code : nil
                ))
            }
        }
        // A read error (a stray pending socket error) ends this round; it is cleared by being reported.
        while let message = try? socket.receive(maxBytes: receiveSize, flags: []) {
            handle(message)
        }
    }

    /// Matches one received message to a request of ours.
    private mutating func handle(_ message: ReceivedMessage) {
        let v4Raw = mode == .raw && socket.family == .inet
        let (parsed, headerTTL) = ICMPPacket.parse(message.bytes, family: socket.family, ipHeader: v4Raw)
        let ttl = headerTTL ?? message.control.hopLimit
        switch parsed {
        case .echoReply(let id, let sequence, let payloadBytes):
            // Ping sockets: the kernel set the identifier and delivers only this socket's replies.
            guard mode == .datagram || (id == identifier && isFromHost(message.from)),
                  let pending = outstanding[sequence] else { return }
            record(sequence: sequence, pending, EchoResult(
                sequence: sequence, state: .reply, rtt: rtt(pending, message), ttl: ttl, bytes: payloadBytes,
                from: message.from
            ))
        case .error(let type, let code, let id, let sequence, let destination):
            guard mode == .raw, id == identifier, destination == hostBytes, let pending = outstanding[sequence] else { return }
            record(sequence: sequence, pending, EchoResult(
                sequence: sequence, state: .unreachable, rtt: rtt(pending, message), ttl: ttl, from: message.from,
                errno: ICMPPacket.errno(type: type, code: code, family: socket.family).name,
                icmpType: Int(type), icmpCode: Int(code)
            ))
        case .other:
            return
        }
    }

    /// Times out the requests whose wait is over.
    private mutating func expire(now: ContinuousClock.Instant) {
        for (sequence, pending) in outstanding where pending.sentAt + options.timeout <= now {
            record(sequence: sequence, pending, EchoResult(sequence: sequence, state: .timeout))
        }
    }

    private mutating func record(sequence: UInt16, _ pending: Outstanding, _ result: EchoResult) {
        outstanding[sequence] = nil
        record(index: pending.index, result)
    }

    private mutating func record(index: Int, _ result: EchoResult) {
        results[index] = result
        resolved += 1
    }

    private func rtt(_ pending: Outstanding, _ message: ReceivedMessage) -> Duration {
        roundTrip(sentWall: pending.sentWall, kernelTime: message.control.kernelTime, userSpace: ContinuousClock.now - pending.sentAt)
    }

    /// Whether a reply's source is the pinged host (any source when pinging the unspecified address).
    private func isFromHost(_ from: SocketAddress?) -> Bool {
        hostBytes.allSatisfy { $0 == 0 } || from.map(Self.addressBytes) == hostBytes
    }

    /// The address bytes of an IP host, as they appear in packets.
    static func addressBytes(_ address: SocketAddress) -> [UInt8] {
        switch address {
        case .v4(let host, _): withUnsafeBytes(of: host.inAddr) { Array($0) }
        case .v6(let host, _, _): withUnsafeBytes(of: host.in6Addr) { Array($0) }
        default: []
        }
    }

    /// The level of raw-socket options. The corresponding C constant is `SOL_RAW`.
    static let solRaw: CInt = 255
    /// Types a raw IPv4 ICMP socket drops (a set bit drops). The corresponding C constant is `ICMP_FILTER` (`<linux/icmp.h>`).
    static let icmpFilter: CInt = 1
    /// Types a raw ICMPv6 socket drops. The corresponding C constant is `ICMP6_FILTER` (`<netinet/icmp6.h>`).
    static let icmp6Filter: CInt = 1

    /// `struct icmp_filter`: everything dropped but echo reply, destination unreachable, time exceeded and parameter problem.
    static let v4Filter: UInt32 = ~[ICMPType.echoReply, ICMPType.destinationUnreachable, ICMPType.timeExceeded,
                                     ICMPType.parameterProblem].reduce(UInt32(0)) { $0 | 1 << UInt32($1) }

    /// `struct icmp6_filter` (256 bits, a set bit blocks): echo reply and the four error types pass.
    static let v6Filter: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = {
        var words = [UInt32](repeating: .max, count: 8)
        for type in [ICMPType.v6EchoReply, ICMPType.v6DestinationUnreachable, ICMPType.v6PacketTooBig,
                     ICMPType.v6TimeExceeded, ICMPType.v6ParameterProblem] {
            words[Int(type >> 5)] &= ~(1 << UInt32(type & 31))
        }
        return (words[0], words[1], words[2], words[3], words[4], words[5], words[6], words[7])
    }()
}
