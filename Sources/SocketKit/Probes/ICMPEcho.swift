import Glibc
import Synchronization
public import SystemPackage

/// ICMP / ICMPv6 echo ("ping") over raw or unprivileged ping sockets, waiting with the ``Reactor``.
public enum ICMPEcho {
    /// Which mode this process can use now for the family: raw when CAP_NET_RAW lets socket() succeed, else datagram if allowed, else nil.
    /// In `namespace` when given: whether ping sockets are allowed (`ping_group_range`) is the namespace's own.
    public static func availableMode(for family: AddressFamily, in namespace: NetworkNamespace? = nil) -> ICMPMode? {
        guard let proto = icmpProtocol(family) else { return nil }
        for (mode, type) in [(ICMPMode.raw, SocketType.raw), (.datagram, .dgram)] {
            if let socket = try? Socket.make(family: family, type: type, protocol: proto, in: namespace) {
                try? socket.close()
                return mode
            }
        }
        return nil
    }

    /// Sends `count` echo requests `interval` apart (interval 0 = as fast as possible, still one at a time or pipelined — your call, but all replies must be matched), matching replies by identifier AND sequence so that concurrent pings to the same host never mix (raw sockets see every ICMP reply: filter; give each ping a unique identifier from a process-wide counter). IPv4: ICMP echo (type 8/0) with checksum; IPv6: ICMPv6 echo (128/129), kernel checksums, ICMP6_FILTER on raw sockets. TTL / hop limit of each reply (IPv4 raw: from the IP header; datagram/IPv6: IP_RECVTTL / IPV6_RECVHOPLIMIT cmsg). Destination unreachable / time exceeded for our packet → unreachable with icmpType/code. Waits with Reactor, never blocks a thread.
    ///
    /// Sequences run from 1; an interval of zero sends each request once the previous one is answered or
    /// timed out (one at a time), a positive one pipelines on a fixed schedule. One result per request, in
    /// order; duplicate replies are ignored. Raw sockets also check that a reply comes from `host`; ping
    /// sockets get only their own replies from the kernel, which also sets their identifier. A send that
    /// fails (`ENETUNREACH`, `EPERM` from a firewall) makes that request unreachable with the errno. When
    /// the task is cancelled, the results so far come back at once, every request still waiting or not yet
    /// sent marked timeout with errno `ECANCELED` (as ``TCPScanner`` marks ports it did not finish).
    ///
    /// - Throws: `EAFNOSUPPORT` for a non-IP host; `EINVAL` for a negative count, a size outside
    ///   0...65000 or a TTL outside 1...255; `EPERM` / `EACCES` when the mode is not allowed (raw without
    ///   `CAP_NET_RAW`, datagram outside `ping_group_range`); another `Errno` if setting the socket up fails.
    public static func ping(host: SocketAddress, mode: ICMPMode, options: EchoOptions) async throws(Errno) -> [EchoResult] {
        guard let proto = icmpProtocol(host.family) else { throw .addressFamilyNotSupported }
        guard options.count >= 0, (0...65000).contains(options.size), options.ttl.map({ (1...255).contains($0) }) ?? true
        else { throw .invalidArgument }
        guard options.count > 0 else { return [] }
        let socket = try Socket.make(family: host.family, type: mode == .raw ? .raw : .dgram, protocol: proto, in: options.namespace)
        defer { try? socket.close() }
        var session = try EchoSession(socket: socket, host: host.withPort(0), mode: mode, options: options)
        return await session.run()
    }

    /// ping-style summary
    public static func summarize(_ results: [EchoResult]) -> EchoSummary {
        let rtts = results.filter { $0.state == .reply }.compactMap(\.rtt).map(seconds)
        let sent = results.filter { $0.errno != "ECANCELED" }.count  // echoes a deadline stopped were never sent
        let received = results.filter { $0.state == .reply }.count
        let loss = sent == 0 ? 0 : Double(sent - received) * 100 / Double(sent)
        guard !rtts.isEmpty else {
            return EchoSummary(sent: sent, received: received, lossPercent: loss, rttMin: nil, rttAvg: nil, rttMax: nil, rttMdev: nil)
        }
        let mean = rtts.reduce(0, +) / Double(rtts.count)
        let meanSquare = rtts.reduce(0) { $0 + $1 * $1 } / Double(rtts.count)
        return EchoSummary(
            sent: sent, received: received, lossPercent: loss, rttMin: .seconds(rtts.min()!), rttAvg: .seconds(mean),
            rttMax: .seconds(rtts.max()!), rttMdev: .seconds(max(0, meanSquare - mean * mean).squareRoot())
        )
    }

    /// Identifiers for raw-socket pings: process-wide, so concurrent pings never share one; started at a
    /// random value so that two processes are unlikely to collide either.
    static let identifiers = Atomic<UInt16>(UInt16.random(in: .min ... .max))

    private static func icmpProtocol(_ family: AddressFamily) -> SocketProtocol? {
        switch family {
        case .inet: .icmp
        case .inet6: .icmpv6
        default: nil
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
