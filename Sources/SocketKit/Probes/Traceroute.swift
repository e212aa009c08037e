import Glibc
import SystemPackage

/// How a trace's probes travel.
public enum TraceMethod: String, Sendable, CaseIterable {
    /// UDP datagrams to high ports (33434 up): routers answer time exceeded, the target port unreachable.
    case udp
    /// TCP connects (SYN) to one port: routers answer time exceeded, the target SYN-ACK or RST.
    case tcp
    /// ICMP echo requests: routers answer time exceeded, the target echo reply.
    case icmp
}

/// How a trace runs.
public struct TraceOptions: Sendable {
    /// The last TTL tried.
    public var maxHops = 30
    /// The first TTL tried.
    public var firstHop = 1
    /// Probes per hop.
    public var queries = 3
    /// How long one probe waits for its answer.
    public var timeout: Duration = .seconds(1)
    /// UDP: the first destination port (each probe takes the next); TCP: the port; ICMP: unused.
    public var port: UInt16?
    /// Hops in flight at once (`traceroute -N`).
    public var window = 16
    /// The namespace the probe sockets are made in; nil: this process's own.
    public var namespace: NetworkNamespace?
    /// ICMP: raw or ping sockets (``ICMPEcho/availableMode(for:in:)``).
    public var icmpMode: ICMPMode = .raw

    /// Defaults: hops 1 to 30, 3 probes of 1 s each, 16 hops at once.
    public init() {}
}

/// One probe of a trace.
public struct TraceProbe: Sendable, Equatable {
    /// How it ended.
    public enum State: String, Sendable {
        /// A router on the way answered (time exceeded).
        case hop
        /// The target answered (port unreachable, echo reply, SYN-ACK or RST): the trace ends at this TTL.
        case reached
        /// Someone answered unreachable (host, network, prohibited): shown as traceroute's !H, !N, !X.
        case unreachable
        /// No answer in time (traceroute's `*`).
        case timeout
        /// The probe could not be sent (the errno says why).
        case error
    }

    /// The TTL it was sent with.
    public var ttl: Int
    /// Its number within its hop, from 0.
    public var query: Int
    public var state: State
    /// Who answered.
    public var from: SocketAddress?
    /// Until the answer.
    public var rtt: Duration?
    /// The ICMP type and code of the answer, when it was an ICMP error.
    public var icmpType: Int?
    public var icmpCode: Int?
    /// The errno of an unreachable or error verdict.
    public var errno: String?
}

/// traceroute: probes with growing TTLs, each answered by the router where its TTL ran out, until the target answers.
public enum Traceroute {
    /// Traces the path to `host`, `options.window` hops at a time, and returns every probe, by TTL and query, up to
    /// the first hop at which the target answered (or `maxHops`). Each probe has its own socket with `IP_RECVERR` /
    /// `IPV6_RECVERR`, so the ICMP answers come to this unprivileged process through the error queue with the
    /// router's address (UDP, TCP); ICMP probes use ``ICMPEcho``.
    ///
    /// `onHop` hears each hop's probes as soon as it and every hop before it are done, in TTL order, up to the hop
    /// where the target answered (so a trace can be shown as it goes); the hops it hears are the ones returned.
    public static func trace(host: SocketAddress, method: TraceMethod, options: TraceOptions,
                             onHop: @Sendable ([TraceProbe]) async -> Void = { _ in }) async -> [TraceProbe] {
        let hops = Array(options.firstHop...max(options.firstHop, options.maxHops))
        var delivered: [TraceProbe] = []
        var done: [Int: [TraceProbe]] = [:]
        var next = hops[0]
        var index = 0
        while index < hops.count {
            let batch = hops[index..<min(index + max(1, options.window), hops.count)]
            index += batch.count
            var reached = false
            await withTaskGroup(of: (Int, [TraceProbe]).self) { group in
                for ttl in batch { group.addTask { (ttl, await Self.hop(ttl, host: host, method: method, options: options)) } }
                for await (ttl, probes) in group {
                    done[ttl] = probes.sorted { $0.query < $1.query }
                    // Deliver what is complete in order; the first hop where the target answered is the last.
                    while !reached, let hop = done.removeValue(forKey: next) {
                        delivered += hop
                        await onHop(hop)
                        reached = hop.contains { $0.state == .reached }
                        next += 1
                    }
                }
            }
            if reached || Task.isCancelled { break }
        }
        return delivered
    }

    /// One hop's probes, sent together.
    private static func hop(_ ttl: Int, host: SocketAddress, method: TraceMethod, options: TraceOptions) async -> [TraceProbe] {
        if method == .icmp {
            var echo = EchoOptions()
            echo.count = options.queries
            echo.interval = .zero
            echo.timeout = options.timeout
            echo.ttl = ttl
            echo.namespace = options.namespace
            guard let results = try? await ICMPEcho.ping(host: host, mode: options.icmpMode, options: echo) else {
                return (0..<options.queries).map { TraceProbe(ttl: ttl, query: $0, state: .error, errno: Errno.permissionDenied.name) }
            }
            return results.enumerated().map { query, result in
                let state: TraceProbe.State = switch result.state {
                case .reply: .reached
                case .timeout: .timeout
                case .unreachable: result.icmpType == 11 || result.icmpType == 3 && host.family == .inet6 ? .hop : .unreachable
                }
                return TraceProbe(ttl: ttl, query: query, state: state, from: result.from, rtt: result.rtt, icmpType: result.icmpType,
                                  icmpCode: result.icmpCode, errno: state == .unreachable ? result.errno : nil)
            }
        }
        return await withTaskGroup(of: TraceProbe.self) { group in
            for query in 0..<options.queries {
                group.addTask { await Self.probe(ttl: ttl, query: query, host: host, method: method, options: options) }
            }
            var all: [TraceProbe] = []
            for await probe in group { all.append(probe) }
            return all
        }
    }

    /// One UDP or TCP probe on a socket of its own.
    private static func probe(ttl: Int, query: Int, host: SocketAddress, method: TraceMethod, options: TraceOptions) async -> TraceProbe {
        var result = TraceProbe(ttl: ttl, query: query, state: .timeout)
        let port: UInt16 = switch method {
        case .tcp: options.port ?? 80
        default: (options.port ?? 33434) &+ UInt16(truncatingIfNeeded: (ttl - 1) * options.queries + query)
        }
        let target = host.withPort(port)
        let socket: Socket
        do {
            socket = try Socket.make(family: host.family, type: method == .tcp ? .stream : .dgram,
                                     protocol: method == .tcp ? .tcp : .udp, in: options.namespace)
        } catch {
            result.state = .error
            result.errno = error.name
            return result
        }
        defer { try? socket.close() }
        let sentAt = ContinuousClock.now
        do {
            try socket.enableProbeReception(errorQueue: true)
            try socket.setHopLimit(ttl)
            if method == .tcp {
                _ = try socket.connect(to: target)
            } else {
                _ = try socket.connect(to: target)
                _ = try socket.send(Array(repeating: 0, count: 32)[...], to: nil, flags: [])
            }
        } catch let error {
            // A connect refused at once (loopback) is the target's RST: reached.
            if error == .connectionRefused {
                return TraceProbe(ttl: ttl, query: query, state: .reached, from: host, rtt: ContinuousClock.now - sentAt)
            }
            result.state = .error
            result.errno = error.name
            return result
        }
        while true {
            if let answer = Self.answer(socket, ttl: ttl, query: query, host: host, method: method, sentAt: sentAt) { return answer }
            let readiness: Readiness
            do {
                readiness = try await socket.wait(for: method == .tcp ? .writable : .readable, until: sentAt + options.timeout)
            } catch {
                return result
            }
            if let answer = Self.answer(socket, ttl: ttl, query: query, host: host, method: method, sentAt: sentAt) { return answer }
            if readiness == .timedOut { return result }
        }
    }

    /// What came back, if anything: an ICMP error in the error queue (its offender is the hop), a UDP reply or an
    /// established or refused TCP connection (the target).
    private static func answer(_ socket: Socket, ttl: Int, query: Int, host: SocketAddress, method: TraceMethod,
                               sentAt: ContinuousClock.Instant) -> TraceProbe? {
        let rtt = ContinuousClock.now - sentAt
        if let queued = try? socket.receive(maxBytes: 0, flags: .errorQueue), let error = queued.control.extendedError, error.fromICMP {
            let timeExceeded = host.family == .inet ? error.type == 11 : error.type == 3
            let portUnreachable = host.family == .inet ? error.type == 3 && error.code == 3 : error.type == 1 && error.code == 4
            let state: TraceProbe.State = timeExceeded ? .hop : portUnreachable ? .reached : .unreachable
            return TraceProbe(ttl: ttl, query: query, state: state, from: error.offender?.withPort(0), rtt: rtt, icmpType: error.type,
                              icmpCode: error.code, errno: state == .unreachable ? error.errno.name : nil)
        }
        if method == .tcp {
            guard let pending = try? socket.pendingError() else {
                // Writable without an error: the target accepted the connection.
                return (try? socket.peerAddress()) != nil
                    ? TraceProbe(ttl: ttl, query: query, state: .reached, from: host, rtt: rtt) : nil
            }
            if pending == .connectionRefused { return TraceProbe(ttl: ttl, query: query, state: .reached, from: host, rtt: rtt) }
            return nil
        }
        if (try? socket.receive(maxBytes: 64, flags: [])) != nil {
            return TraceProbe(ttl: ttl, query: query, state: .reached, from: host, rtt: rtt)
        }
        return nil
    }
}
