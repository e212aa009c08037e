import Glibc
import SystemPackage

/// TCP connect scans: the kernel's own handshake answers, so no privilege is needed.
public enum TCPScanner {
    /// Non-blocking connects in parallel (bounded by options.concurrency, sliding window, results in port order).
    /// open: connected; closed: ECONNREFUSED (RST); filtered: no answer before timeout (ETIMEDOUT) or EHOSTUNREACH/ENETUNREACH (keep errno).
    /// Sockets are closed with SO_LINGER {on, 0} (RST) right after the verdict so that a 65535-port scan leaves no TIME_WAIT pile-up.
    ///
    /// Results come in the order of `ports`. A verdict the connect itself delivers (loopback answers
    /// within the `connect` call) costs no wait at all; only connects still in progress take a slot of the
    /// window and a child task parked on ``Reactor``. When descriptors or ephemeral ports run out (`EMFILE`,
    /// `ENFILE`, `EADDRNOTAVAIL`, `ENOBUFS`) the port waits for a slot to free up rather than being
    /// misreported; with nothing in flight to wait for it is reported untested with that errno. Other local
    /// failures (`EPERM` from a local firewall, …) are filtered. Ports left when the task is cancelled are
    /// filtered with `ECANCELED`. A connect that meets itself (a local port inside the ephemeral range, given
    /// as its own source port) is retried from another source port.
    public static func scan(host: SocketAddress, ports: [UInt16], options: PortProbeOptions) async -> [PortResult] {
        guard !ports.isEmpty else { return [] }
        let concurrency = max(1, options.concurrency)
        let lanes = laneCount(ports: ports.count, concurrency: concurrency)
        if lanes == 1 {
            return await scanLane(host: host, ports: ports, lane: 0, of: 1, window: concurrency, options: options)
        }
        // Most of a loopback scan is kernel work done inside `connect`, on the calling thread: one lane per
        // core, each with its share of the window, takes ports lane, lane + lanes, … so that open ports and
        // slow ranges spread evenly.
        var results = [PortResult](repeating: PortResult(port: 0, state: .filtered), count: ports.count)
        await withTaskGroup(of: (Int, [PortResult]).self) { group in
            for lane in 0..<lanes {
                let window = concurrency / lanes + (lane < concurrency % lanes ? 1 : 0)
                group.addTask {
                    (lane, await scanLane(host: host, ports: ports, lane: lane, of: lanes, window: window, options: options))
                }
            }
            for await (lane, laneResults) in group {
                for (offset, result) in laneResults.enumerated() { results[lane + offset * lanes] = result }
            }
        }
        return results
    }

    /// One lane per core, only for scans big enough to pay for the split.
    private static func laneCount(ports: Int, concurrency: Int) -> Int {
        let cores = Int(sysconf(CInt(_SC_NPROCESSORS_ONLN)))
        return max(1, min(cores, concurrency, ports / 1024, 8))
    }

    /// The sliding window over ports `lane`, `lane + lanes`, …, reusing one refused socket after another.
    private static func scanLane(
        host: SocketAddress, ports: [UInt16], lane: Int, of lanes: Int, window: Int, options: PortProbeOptions
    ) async -> [PortResult] {
        var spare: Socket?
        defer { try? spare?.close() }
        return await runProbeWindow(
            ports: ports, indices: stride(from: lane, to: ports.count, by: lanes), window: window,
            start: { port in Connection.start(host.withPort(port), port: port, options: options, spare: &spare) },
            finish: { connection in await connection.finish(options: options) }
        )
    }
}

/// A socket whose connect was started, with what the verdict needs.
private struct Connection: Sendable {
    let socket: Socket
    let target: SocketAddress
    let port: UInt16
    let started: ContinuousClock.Instant
    /// How many self-connections were retried already.
    let retries: Int
    /// When the handshake was seen complete; nil while the connect is in progress.
    var connectedAt: ContinuousClock.Instant? = nil

    /// Connects a socket to `target`, taking any verdict the kernel gives at once.
    ///
    /// On loopback the SYN and its RST (or SYN-ACK) are processed before `connect` returns `EINPROGRESS`,
    /// so a second `connect` reports the outcome (`ECONNREFUSED`, 0 once established, `EALREADY` while
    /// still in progress) for one more syscall instead of a trip through the reactor.
    ///
    /// `spare` is a socket whose last connect was refused: Linux lets it connect again (it is back in
    /// `CLOSE`, its ephemeral port released), which saves a `socket` and a `close` per closed port, the
    /// bulk of a scan. It is used when there, and left there after another refusal.
    static func start(
        _ target: SocketAddress, port: UInt16, options: PortProbeOptions, spare: inout Socket?, retries: Int = 0
    ) -> ProbeStart<Connection> {
        let started = ContinuousClock.now
        let socket: Socket
        if let reused = spare {
            socket = reused
            spare = nil
        } else {
            do {
                socket = try Socket.make(family: target.family, type: .stream, protocol: .tcp, in: options.namespace)
                if let ttl = options.ttl { try socket.setHopLimit(ttl) }
            } catch {
                return probeShortages.contains(error) ? .starved(error) : .finished(failure(port, error, nil))
            }
        }
        let connection = Connection(socket: socket, target: target, port: port, started: started, retries: retries)
        do {
            if try socket.connect(to: target) { return connection.connected(options: options) }
            if try socket.connect(to: target) { return connection.connected(options: options) }
            return .pending(connection)
        } catch {
            if error == .alreadyInProcess { return .pending(connection) }
            if error == .connectionRefused {
                spare = socket
            } else {
                try? socket.close()
            }
            if probeShortages.contains(error) { return .starved(error) }
            return .finished(failure(port, error, ContinuousClock.now - started))
        }
    }

    /// The verdict for a connect that failed with `error` (`failedPort`).
    static func failure(_ port: UInt16, _ error: Errno, _ rtt: Duration?) -> PortResult { failedPort(port, error, rtt) }

    /// Waits for the connect to end, reads the reply if asked to, and closes the socket.
    func finish(options: PortProbeOptions) async -> PortResult {
        var current = self
        while true {
            switch await current.settle(options: options) {
            case .finished(let result): return result
            case .pending(let next): current = next
            case .starved(let error): return Self.failure(port, error, nil)
            }
        }
    }

    /// One step: wait for an in-progress connect, or read the reply of an established one.
    private func settle(options: PortProbeOptions) async -> ProbeStart<Connection> {
        if let connectedAt {
            return .finished(await openResult(options: options, connectedAt: connectedAt))
        }
        let readiness: Readiness
        do {
            readiness = try await socket.wait(for: .writable, until: started + options.timeout)
        } catch {
            abort()
            return .finished(PortResult(port: port, state: .filtered, errno: ((error as? Errno) ?? .canceled).name))
        }
        guard readiness == .ready else {
            abort()
            return .finished(Self.failure(port, .timedOut, nil))
        }
        let pending: Errno?
        do { pending = try socket.pendingError() } catch { pending = error }
        if let pending {
            abort()
            return .finished(Self.failure(port, pending, ContinuousClock.now - started))
        }
        return connected(options: options)
    }

    /// The verdict on an established connection, or a retry when it connected to itself.
    func connected(options: PortProbeOptions) -> ProbeStart<Connection> {
        // A connect to a local port inside the ephemeral range can be given that very port as its source:
        // TCP's simultaneous open then "connects" with no listener. Another source port tells the truth.
        if (try? socket.localAddress()) == target {
            abort()
            guard retries < 3 else { return .finished(PortResult(port: port, state: .closed)) }
            var spare: Socket?
            defer { try? spare?.close() }
            return Self.start(target, port: port, options: options, spare: &spare, retries: retries + 1)
        }
        let now = ContinuousClock.now
        if options.readsReply {
            var established = self
            established.connectedAt = now
            return .pending(established)
        }
        abort()
        return .finished(PortResult(port: port, state: .open, rtt: now - started))
    }

    /// The open verdict, after sending the payload and reading the reply.
    private func openResult(options: PortProbeOptions, connectedAt: ContinuousClock.Instant) async -> PortResult {
        let reply = await socket.exchange(options: options, connectedAt: connectedAt)
        abort()
        return PortResult(
            port: port, state: .open, rtt: connectedAt - started, reply: reply.bytes, firstByte: reply.firstByte,
            expectMatched: reply.matched
        )
    }

    /// Closes with `SO_LINGER {on, 0}`: an RST, no `TIME_WAIT` left behind.
    func abort() {
        try? socket.setRaw(.so_linger, linger(l_onoff: 1, l_linger: 0))
        try? socket.close()
    }
}
