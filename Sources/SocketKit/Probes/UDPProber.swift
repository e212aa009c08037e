import Glibc
import SystemPackage

/// UDP port probes: a datagram out, and whatever comes back (a reply, an ICMP error, or silence).
public enum UDPProber {
    /// One connected UDP socket per port with IP_RECVERR / IPV6_RECVERR: send the payload, then a reply → open;
    /// an ICMP port unreachable (ECONNREFUSED from recv, or from the error queue) → closed; nothing before timeout → open|filtered.
    ///
    /// Results come in the order of `ports`, through the same sliding window as ``TCPScanner``. Another
    /// ICMP error (host or network unreachable, administratively prohibited) is filtered with the errno the
    /// kernel made of it; a local failure (`EPERM` from a firewall, `ENETUNREACH` with no route) is filtered
    /// with its errno. The first reply decides: its bytes (at most 4096), its TTL / hop limit, and whether
    /// ``PortProbeOptions/expect`` accepts it. Round trips use the kernel's receive timestamp. Linux limits
    /// the ICMP errors it sends (`net.ipv4.icmp_msgs_per_sec`, 1000/s with a burst of 50, loopback included),
    /// so a fast scan of many closed ports sees some of them as open|filtered, as nmap does.
    public static func probe(host: SocketAddress, ports: [UInt16], options: PortProbeOptions) async -> [PortResult] {
        guard !ports.isEmpty else { return [] }
        return await runProbeWindow(
            ports: ports, indices: stride(from: 0, to: ports.count, by: 1), window: max(1, options.concurrency),
            start: { port in Datagram.start(host.withPort(port), port: port, options: options) },
            finish: { datagram in await datagram.finish(options: options) }
        )
    }
}

/// A probe datagram sent on its own connected socket.
private struct Datagram: Sendable {
    let socket: Socket
    let port: UInt16
    let sentAt: ContinuousClock.Instant
    let sentWall: timespec

    /// Opens, connects and sends; an answer already queued (loopback's ICMP comes back within `send`) is taken at once.
    ///
    /// A local target port inside the ephemeral range can be handed to the probe socket itself as its
    /// source port: the probe would then hear its own datagram as a reply. Such a socket is replaced.
    static func start(_ target: SocketAddress, port: UInt16, options: PortProbeOptions) -> ProbeStart<Datagram> {
        var attempts = 0
        var opened: Socket?
        while opened == nil {
            let socket: Socket
            do {
                socket = try Socket.make(family: target.family, type: .dgram, protocol: .udp, in: options.namespace)
            } catch {
                return probeShortages.contains(error) ? .starved(error) : .finished(failure(port, error, nil))
            }
            do {
                try socket.enableProbeReception(errorQueue: true)
                try socket.enableReceiveTimestamps()
                if let ttl = options.ttl { try socket.setHopLimit(ttl) }
                _ = try socket.connect(to: target)
            } catch {
                try? socket.close()
                return probeShortages.contains(error) ? .starved(error) : .finished(failure(port, error, nil))
            }
            attempts += 1
            if attempts < 4, (try? socket.localAddress()) == target {
                try? socket.close()  // its own source: another socket gets another port
            } else {
                opened = socket
            }
        }
        let socket = opened!
        let datagram = Datagram(socket: socket, port: port, sentAt: .now, sentWall: realtimeNow())
        do {
            // An empty datagram is what nmap sends by default; a full send buffer on a fresh socket cannot happen.
            _ = try socket.send((options.payload ?? [])[...], to: nil, flags: [])
        } catch {
            try? socket.close()
            return .finished(failure(port, error, ContinuousClock.now - datagram.sentAt))
        }
        if let verdict = datagram.answer(options: options) {
            try? socket.close()
            return .finished(verdict)
        }
        return .pending(datagram)
    }

    /// The verdict for a local failure or an ICMP error turned into `error` (`failedPort`).
    static func failure(_ port: UInt16, _ error: Errno, _ rtt: Duration?) -> PortResult { failedPort(port, error, rtt) }

    /// Waits for an answer until the timeout; silence is open|filtered.
    func finish(options: PortProbeOptions) async -> PortResult {
        defer { try? socket.close() }
        while true {
            let readiness: Readiness
            do {
                readiness = try await socket.wait(for: .readable, until: sentAt + options.timeout)
            } catch {
                return PortResult(port: port, state: .filtered, errno: ((error as? Errno) ?? .canceled).name)
            }
            // Even at the deadline, an answer that made it into the queue counts.
            if let verdict = answer(options: options) { return verdict }
            if readiness == .timedOut { return PortResult(port: port, state: .openFiltered) }
        }
    }

    /// The answer queued on the socket, if any: the error queue first (it says which ICMP error came), then a reply.
    func answer(options: PortProbeOptions) -> PortResult? {
        if let queued = try? socket.receive(maxBytes: 0, flags: .errorQueue), let error = queued.control.extendedError {
            let rtt = roundTrip(sentWall: sentWall, kernelTime: queued.control.kernelTime, userSpace: ContinuousClock.now - sentAt)
            return Self.failure(port, error.errno, rtt)
        }
        let message: ReceivedMessage?
        do {
            message = try socket.receive(maxBytes: probeReplyLimit, flags: [])
        } catch {
            // Without an error queue entry, the pending socket error itself (ECONNREFUSED from recv).
            return Self.failure(port, error, ContinuousClock.now - sentAt)
        }
        guard let message else { return nil }
        let rtt = roundTrip(sentWall: sentWall, kernelTime: message.control.kernelTime, userSpace: ContinuousClock.now - sentAt)
        return PortResult(
            port: port, state: .open, rtt: rtt, reply: message.bytes, expectMatched: options.expect.map { $0.matches(message.bytes) },
            ttl: message.control.hopLimit
        )
    }
}
