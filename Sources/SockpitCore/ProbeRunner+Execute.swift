import SocketKit
import Storage
import SystemPackage

/// Where a probe goes, once resolved.
struct ResolvedTarget: Sendable {
    /// The IP address (port 0) for tcp/udp/icmp.
    var address: SocketAddress?
    /// The absolute Unix path for unix.
    var unixPath: String?
    /// As shown in `resolved_address`.
    var display: String
}

/// A failure that ends a probe before it sends anything (stored, not thrown to the client).
struct ProbeFailure: Error {
    var reason: Detail
}

/// What the mechanics produced, judged.
struct ProbeOutcome: Sendable {
    var rows: [ProbeResultRecord]
    var good: Int
    var total: Int
    var reason: Detail?
    var summary: Detail?
    var phases: [String: Detail] = [:]
    /// The rows are in history already (a traceroute stores each hop as it comes).
    var stored = false
}

extension ProbeRunner {
    func resolve(_ spec: ProbeSpec) async throws -> ResolvedTarget {
        if spec.kind == "unix" {
            let path = try policy.unixPaths.resolve(spec.target, field: "target")
            return ResolvedTarget(address: nil, unixPath: path, display: policy.unixPaths.displayName(for: path) ?? path)
        }
        guard HostText.isValid(spec.target) else {
            throw SockpitError(.invalid, "target must be an IP address or a host name (letters, digits, '.', '-', ':', '%', '_')", field: "target")
        }
        if let numeric = try? SocketAddress(host: spec.target, port: 0) {
            if let family = spec.family, family != numeric.family {
                throw SockpitError(.invalid, "target \(spec.target) is not an \(family.name) address, as ip_family asks", field: "ip_family")
            }
            return ResolvedTarget(address: numeric, display: Self.host(of: numeric))
        }
        do {
            let found = try await Resolver.resolve(host: spec.target, port: 0, family: spec.family, type: spec.kind == "tcp" ? .stream : .dgram)
            guard let first = found.first else {
                throw ProbeFailure(reason: Self.reason("resolve", "\(spec.target) has no address\(spec.family.map { " of family \($0.name)" } ?? "")", errno: nil))
            }
            return ResolvedTarget(address: first, display: Self.host(of: first))
        } catch let error as ResolveError {
            throw ProbeFailure(reason: Self.reason("resolve", "\(spec.target) could not be resolved: \(error.message)", errno: error.name))
        }
    }

    func execute(_ spec: ProbeSpec, target: ResolvedTarget, in namespace: NetworkNamespace? = nil, probeID: String = "") async -> ProbeOutcome {
        var options = PortProbeOptions()
        options.namespace = namespace
        options.timeout = spec.timeout
        options.concurrency = spec.concurrency
        options.payload = spec.payload
        options.expect = spec.expect?.matcher
        options.readBanner = spec.readBanner
        options.readTimeout = spec.timeout
        options.ttl = spec.ttl
        let deadline = ContinuousClock.now + limits.deadline
        let portOptions = options
        switch spec.kind {
        case "traceroute":
            guard let address = target.address else { return ProbeOutcome(rows: [], good: 0, total: 0) }
            return await trace(spec, to: address, probeID: probeID, netns: spec.netns, in: namespace, deadline: deadline)
        case "icmp":
            var echo = EchoOptions()
            echo.count = spec.count
            echo.interval = spec.interval
            echo.timeout = spec.timeout
            echo.size = spec.size
            echo.ttl = spec.ttl
            echo.namespace = namespace
            let echoOptions = echo
            guard let address = target.address, let mode = ICMPEcho.availableMode(for: address.family, in: namespace) else {
                return ProbeOutcome(rows: [], good: 0, total: 0, reason: Self.reason("permission", "ICMP is not available", errno: "EPERM"))
            }
            do {
                let results = try await withDeadline(deadline) { try await ICMPEcho.ping(host: address, mode: mode, options: echoOptions) }
                return judgeEchoes(results, mode: mode)
            } catch {
                let name = (error as? Errno)?.name
                return ProbeOutcome(rows: [], good: 0, total: spec.count,
                                    reason: Self.reason(name == "EACCES" || name == "EPERM" ? "permission" : "error", "\(error)", errno: name))
            }
        case "unix":
            var rows: [PortResult] = []
            for attempt in 0..<spec.count {
                if attempt > 0, spec.interval > .zero { await Self.pause(spec.interval, before: deadline) }
                if Task.isCancelled || ContinuousClock.now >= deadline { break }
                rows.append(await UnixProber.probe(path: target.unixPath ?? "", type: .stream, options: options))
            }
            return judgePorts(rows, kind: "unix", spec: spec)
        default:
            guard let address = target.address else { return ProbeOutcome(rows: [], good: 0, total: 0) }
            var rows: [PortResult] = []
            for attempt in 0..<spec.count {
                if attempt > 0, spec.interval > .zero { await Self.pause(spec.interval, before: deadline) }
                if Task.isCancelled || ContinuousClock.now >= deadline { break }
                let batch = (try? await withDeadline(deadline) {
                    spec.kind == "udp"
                        ? await UDPProber.probe(host: address, ports: spec.ports, options: portOptions)
                        : await TCPScanner.scan(host: address, ports: spec.ports, options: portOptions)
                }) ?? []
                rows.append(contentsOf: batch)
            }
            return judgePorts(rows, kind: spec.kind, spec: spec)
        }
    }

    /// Waits `interval` between attempts, but never past the probe's deadline.
    static func pause(_ interval: Duration, before deadline: ContinuousClock.Instant) async {
        try? await Task.sleep(until: min(ContinuousClock.now + interval, deadline), clock: .continuous)
    }

    /// Runs `body`, cancelling it when the probe's overall deadline passes.
    private func withDeadline<T: Sendable>(_ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
                group.cancelAll()
            }
            throw CancellationError()
        }
    }

    static func micros(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }

    static func host(of address: SocketAddress) -> String {
        switch address {
        case .v4(let host, _): host.description
        case .v6(let host, _, let scope): scope == 0 ? host.description : "\(host)%\(scope)"
        default: "\(address)"
        }
    }
}
