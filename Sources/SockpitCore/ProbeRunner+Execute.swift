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
    var rows: [ProbeResult]
    var good: Int
    var total: Int
    var reason: Detail?
    var summary: Detail?
    var phases: [String: Detail] = [:]
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

    func execute(_ spec: ProbeSpec, target: ResolvedTarget) async -> ProbeOutcome {
        var options = PortProbeOptions()
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
        case "icmp":
            var echo = EchoOptions()
            echo.count = spec.count
            echo.interval = spec.interval
            echo.timeout = spec.timeout
            echo.size = spec.size
            echo.ttl = spec.ttl
            let echoOptions = echo
            guard let address = target.address, let mode = ICMPEcho.availableMode(for: address.family) else {
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

    private func judgePorts(_ results: [PortResult], kind: String, spec: ProbeSpec) -> ProbeOutcome {
        let now = UnixTime.nowMicros()
        var counts: [String: Int] = [:]
        var good = 0
        var reason: Detail?
        var rows: [ProbeResult] = []
        rows.reserveCapacity(results.count)
        for result in results {
            counts[result.state.rawValue, default: 0] += 1
            let ok = result.state == .open && result.expectMatched != false
            if ok { good += 1 } else if reason == nil { reason = Self.portReason(result, kind: kind) }
            var detail: [String: Detail] = [:]
            if let matched = result.expectMatched { detail["expect_matched"] = .bool(matched) }
            if let reply = result.reply { detail["reply"] = PayloadPreview.json(reply[...]) }
            if let firstByte = result.firstByte { detail["first_byte_ms"] = .double(Self.ms(firstByte)) }
            rows.append(ProbeResult(
                position: Int(result.port), state: result.state.rawValue, rttUs: result.rtt.map(Self.micros), ttl: result.ttl,
                bytes: result.reply?.count, errno: result.errno, detail: detail.isEmpty ? nil : Detail.object(detail), at: now))
        }
        var phases: [String: Detail] = [:]
        if let first = results.first(where: { $0.rtt != nil }), let rtt = first.rtt { phases["connect_ms"] = .double(Self.ms(rtt)) }
        if let first = results.first(where: { $0.firstByte != nil }), let byte = first.firstByte { phases["first_byte_ms"] = .double(Self.ms(byte)) }
        let summary = Detail.object([
            "open": .int(Int64(counts["open"] ?? 0)), "closed": .int(Int64(counts["closed"] ?? 0)),
            "filtered": .int(Int64(counts["filtered"] ?? 0)), "open_filtered": .int(Int64(counts["open|filtered"] ?? 0)),
        ])
        // Runs of closed ports are kept as ranges: a full scan is a few rows, not 65,535.
        return ProbeOutcome(rows: ProbeResults.compacted(rows), good: good, total: results.count, reason: reason,
                            summary: summary, phases: phases)
    }

    private func judgeEchoes(_ results: [EchoResult], mode: ICMPMode) -> ProbeOutcome {
        let now = UnixTime.nowMicros()
        var good = 0
        var reason: Detail?
        let rows = results.map { echo -> ProbeResult in
            if echo.state == .reply { good += 1 } else if reason == nil {
                reason = echo.state == .timeout
                    ? Self.reason("timeout", "echo \(echo.sequence) got no reply in time", errno: "ETIMEDOUT")
                    : Self.reason("unreachable", "echo \(echo.sequence): ICMP type \(echo.icmpType ?? -1) code \(echo.icmpCode ?? -1)", errno: echo.errno)
            }
            var detail: [String: Detail] = ["mode": .string(mode.rawValue)]
            if let type = echo.icmpType { detail["icmp_type"] = .int(Int64(type)) }
            if let code = echo.icmpCode { detail["icmp_code"] = .int(Int64(code)) }
            return ProbeResult(position: Int(echo.sequence), state: echo.state.rawValue, rttUs: echo.rtt.map(Self.micros),
                                     ttl: echo.ttl, bytes: echo.bytes, errno: echo.errno, detail: Detail.object(detail), at: now)
        }
        let stats = ICMPEcho.summarize(results)
        var summary: [String: Detail] = [
            "sent": .int(Int64(stats.sent)), "received": .int(Int64(stats.received)), "loss_percent": .double(stats.lossPercent),
        ]
        if let value = stats.rttMin { summary["rtt_min_ms"] = .double(Self.ms(value)) }
        if let value = stats.rttAvg { summary["rtt_avg_ms"] = .double(Self.ms(value)) }
        if let value = stats.rttMax { summary["rtt_max_ms"] = .double(Self.ms(value)) }
        if let value = stats.rttMdev { summary["rtt_mdev_ms"] = .double(Self.ms(value)) }
        return ProbeOutcome(rows: rows, good: good, total: results.count, reason: reason, summary: .object(summary))
    }

    func finishRecord(_ probe: Probe, spec: ProbeSpec, rows: [ProbeResult], reason: Detail?,
                      started: ContinuousClock.Instant, resolveMs: Double, summary: Detail?,
                      phases extra: [String: Detail] = [:], good: Int? = nil) -> (Probe, EventRecord) {
        var finished = probe
        let now = UnixTime.nowMicros()
        let goodCount = good ?? rows.filter { $0.state == "open" || $0.state == "reply" }.count
        finished.status = "finished"
        finished.finishedAt = now
        finished.durationUs = now - probe.startedAt
        if rows.isEmpty || goodCount == 0 {
            finished.outcome = "failure"
        } else {
            let positions = rows.reduce(0) { $0 + ($1.lastPosition ?? $1.position) - $1.position + 1 }
            finished.outcome = goodCount == positions ? "success" : "partial"
        }
        let reason = finished.outcome == "success" ? nil : (reason ?? Self.reason("no-result", "the probe produced no result before its deadline", errno: nil))
        finished.reason = reason
        var phases = extra
        phases["resolve_ms"] = .double(resolveMs)
        phases["total_ms"] = .double(Self.ms(ContinuousClock.now - started))
        finished.phases = Detail.object(phases)
        finished.summary = summary
        return (finished, Self.finishEvent(finished, reason: reason))
    }

    static func reason(_ kind: String, _ message: String, errno: String?) -> Detail {
        var members: [String: Detail] = ["kind": .string(kind), "message": .string(message)]
        if let errno { members["errno"] = .string(errno) }
        return .object(members)
    }

    static func portReason(_ result: PortResult, kind: String) -> Detail {
        let place = kind == "unix" ? "the socket" : "port \(result.port)"
        switch result.state {
        case .closed:
            if result.errno == "ENOENT" { return reason("not-found", "no socket at that name", errno: "ENOENT") }
            return reason("refused", "\(place) refused (\(kind == "udp" ? "ICMP port unreachable" : "connection refused"))", errno: result.errno ?? "ECONNREFUSED")
        case .filtered:
            if result.errno == "ECANCELED" {
                return reason("deadline", "\(place) was not finished when the probe's deadline or the server's shutdown ended it", errno: "ECANCELED")
            }
            if let errno = result.errno, errno != "ETIMEDOUT" { return reason("unreachable", "\(place): \(errno)", errno: errno) }
            return reason("timeout", "\(place) did not answer in time (filtered)", errno: "ETIMEDOUT")
        case .openFiltered:
            return reason("timeout", "\(place) sent no reply in time (open or filtered)", errno: nil)
        case .open:
            return reason("expect-mismatch", "\(place) answered but the reply did not match expect", errno: nil)
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
