public import Logging
public import Storage
import SocketKit
import Synchronization

/// Runs probes (resolve, policy, the mechanics in SocketKit), stores each one before answering, and keeps
/// background probes (`wait=false`) tracked so shutdown can end them.
public final class ProbeRunner: Sendable {
    let repository: any ProbeRepository
    let policy: SocketPolicy
    /// The limits in force.
    public let limits: ProbeLimits
    let logger: Logger
    private let running = Mutex<[String: Task<Void, Never>]>([:])
    private let slots = Mutex<Int>(0)

    /// Told of every probe recorded as finished (metrics).
    private let onFinish: @Sendable (Probe) -> Void

    /// Creates a runner over the history; `onFinish` hears of each probe once it is recorded as finished.
    public init(repository: any ProbeRepository, policy: SocketPolicy, limits: ProbeLimits, logger: Logger,
                onFinish: @escaping @Sendable (Probe) -> Void = { _ in }) {
        self.repository = repository
        self.policy = policy
        self.limits = limits
        self.logger = logger
        self.onFinish = onFinish
    }

    /// At start: probes a dead process left running are finished as failures (`server-crash`).
    public func recoverAbandonedProbes() async throws {
        let count = try await repository.abandonRunningProbes(at: UnixTime.nowMicros())
        if count > 0 { logger.warning("probes left running by a previous process marked failed", metadata: ["count": "\(count)"]) }
    }

    /// Runs a probe. With `wait` the finished result is returned; otherwise the stored running probe, at once.
    public func run(_ spec: ProbeSpec, wait: Bool) async throws -> ProbeView {
        try validate(spec)
        let namespace = try spec.netns.map { try policy.namespaces.open($0) }
        guard takeSlot() else {
            throw SockpitError(.limit, "max_concurrent_probes (\(limits.maxConcurrentProbes)) are running: retry when one finishes")
        }
        var slotHeld = true
        defer { if slotHeld { releaseSlot() } }
        let started = UnixTime.nowMicros()
        let clock = ContinuousClock()
        let startInstant = clock.now
        var probe = ProbeRecord(id: Identifier.make(prefix: "pr"), kind: spec.kind, target: spec.target,
                                request: spec.request, startedAt: started)
        probe.netns = spec.netns
        // Resolution comes first: a name that does not resolve is a stored failure (reason resolve), while a
        // target the policy denies is refused (403) and stores nothing.
        let target: ResolvedTarget
        do {
            target = try await resolve(spec)
        } catch let failure as ProbeFailure {
            probe.resolvedAddress = nil
            try await SockpitError.recording("probe") {
                _ = try await repository.start(probe, event: Self.startEvent(probe), runsMeanwhile: false).value()
            }
            let (finished, event) = finishRecord(probe, spec: spec, rows: [], reason: failure.reason, started: startInstant,
                                                 resolveMs: Self.ms(clock.now - startInstant), summary: nil)
            try await SockpitError.recording("probe") { _ = try await repository.finish(finished, results: [], event: event) }
            if let probe = try? Probe(finished) { onFinish(probe) }
            return try ProbeView(finished, [])
        }
        if let address = target.address {
            if case .denied(let rule, let reason) = policy.targets.decide(address) {
                throw SockpitError(.forbidden, "target \(address) is denied by rule '\(rule)': \(reason)", field: "target")
            }
        }
        let resolveMs = Self.ms(clock.now - startInstant)
        if spec.kind == "icmp" || spec.kind == "traceroute" && spec.method == "icmp", let address = target.address,
           ICMPEcho.availableMode(for: address.family, in: namespace) == nil {
            throw SockpitError(.forbidden, "ICMP echo needs CAP_NET_RAW (raw socket) or a ping_group_range that includes this process's group (ping socket); this process has neither",
                               field: "kind", errno: "EPERM")
        }
        probe.resolvedAddress = target.display
        let running = probe
        // A waiting client is answered with the result, which commits after the start: the probe runs while its
        // start commits (often in the same batch as its result). Answered as running, it is stored before it runs.
        let stored = try await SockpitError.recording("probe") { () async throws -> QueuedWrite<EventRecord> in
            if wait { try repository.checkWritable() }
            let stored = repository.start(running, event: Self.startEvent(running), runsMeanwhile: wait)
            if !wait { _ = try await stored.value() }
            return stored
        }
        // The finished probe and its rows, and the error to answer with when its result could not be committed (it
        // ran: a full disk keeps the result queued, and a waiting client hears that it took effect).
        let work: @Sendable () async -> (ProbeRecord, [ProbeResultRecord], SockpitError?) = { [self] in
            var outcome = await execute(spec, target: target, in: namespace, probeID: running.id)
            if Task.isCancelled {
                outcome.reason = Self.reason("server-shutdown", "the server stopped before the probe finished", errno: nil)
                outcome.good = min(outcome.good, max(outcome.total - 1, 0))
            }
            let (finished, event) = finishRecord(running, spec: spec, rows: outcome.rows, reason: outcome.reason,
                                                 started: startInstant, resolveMs: resolveMs, summary: outcome.summary,
                                                 phases: outcome.phases, good: outcome.good)
            // The slot is free once the work is done: a client that sees "finished" may start the next probe.
            if !wait { releaseSlot() }
            var failure: SockpitError?
            do {
                _ = try await repository.finish(finished, results: outcome.stored ? [] : outcome.rows, event: event)
                do { _ = try await stored.value() } catch let kept as HistoryUnavailable where kept.tookEffect {
                    // The start's commit failed and it was kept; queued ahead of the finish, it committed before it.
                }
                if let probe = try? Probe(finished) { onFinish(probe) }
            } catch {
                logger.error("recording a probe result failed", metadata: ["probe.id": "\(running.id)", "error": "\(error)"])
                failure = (error as? HistoryUnavailable).map { SockpitError(history: $0, operation: "probe \(running.id)") }
                    ?? SockpitError(.internal, "probe \(running.id) ran, but its result could not be recorded")
            }
            return (finished, outcome.rows, failure)
        }
        if wait {
            let (finished, rows, failure) = await work()
            if let failure { throw failure }
            return try ProbeView(finished, rows)
        }
        slotHeld = false
        let id = probe.id
        // Made under the lock, so that a probe that ends at once removes its entry only after it was added.
        self.running.withLock { tasks in
            tasks[id] = Task.detached { [self] in
                _ = await work()
                self.running.withLock { _ = $0.removeValue(forKey: id) }
            }
        }
        return try ProbeView(running, [])
    }

    /// One probe with its rows.
    public func get(id: String) async throws -> ProbeView {
        guard let probe = try await repository.findProbe(id: id) else {
            throw SockpitError(.notFound, "no probe with id '\(id)'", field: "id")
        }
        return try ProbeView(probe, try await repository.results(ofProbe: id))
    }

    /// Probes from history, filtered and paged.
    public func list(_ query: ProbeQuery) async throws -> Page<Probe> {
        try await repository.list(query).map(Probe.init)
    }

    /// Ends background probes at shutdown; their results so far are stored by their tasks.
    public func shutdown() async {
        let tasks = running.withLock { Array($0.values) }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    private func takeSlot() -> Bool {
        slots.withLock { count in
            guard count < limits.maxConcurrentProbes else { return false }
            count += 1
            return true
        }
    }

    private func releaseSlot() { slots.withLock { $0 -= 1 } }

    private func validate(_ spec: ProbeSpec) throws {
        guard spec.concurrency <= limits.maxConcurrency else {
            throw SockpitError(.invalid, "concurrency \(spec.concurrency) is more than this host's max_probe_concurrency "
                + "(\(limits.maxConcurrency): each probe's share of the file descriptors the service may open)", field: "concurrency")
        }
        switch spec.kind {
        case "traceroute":
            guard spec.ports.count <= 1 else {
                throw SockpitError(.invalid, "ports takes one port for a traceroute (udp: the first destination port, tcp: the port)", field: "ports")
            }
            guard spec.firstHop <= spec.maxHops else {
                throw SockpitError(.invalid, "first_hop \(spec.firstHop) is past max_hops \(spec.maxHops)", field: "first_hop")
            }
            if spec.payload != nil { throw SockpitError(.invalid, "payload does not apply to a traceroute", field: "payload") }
        case "tcp", "udp":
            guard !spec.ports.isEmpty else {
                throw SockpitError(.invalid, "ports is required for a \(spec.kind) probe (e.g. \"22,80,8000-8100\")", field: "ports")
            }
            guard spec.ports.count <= limits.maxPortsPerProbe else {
                throw SockpitError(.invalid, "ports names \(spec.ports.count) ports; max_ports_per_probe is \(limits.maxPortsPerProbe)",
                                   field: "ports")
            }
        default:
            guard spec.ports.isEmpty else {
                throw SockpitError(.invalid, "ports does not apply to a \(spec.kind) probe", field: "ports")
            }
        }
        if spec.kind == "unix", spec.netns != nil {
            throw SockpitError(.invalid, "netns does not apply to a unix probe: filesystem names are in no network namespace", field: "netns")
        }
        if spec.kind == "icmp", spec.payload != nil {
            throw SockpitError(.invalid, "payload does not apply to an icmp probe (use size)", field: "payload")
        }
    }

    /// Milliseconds with microsecond precision.
    static func ms(_ duration: Duration) -> Double {
        let parts = duration.components
        let micros = Double(parts.seconds) * 1_000_000 + Double(parts.attoseconds) / 1e12
        return micros.rounded() / 1000
    }

    static func startEvent(_ probe: ProbeRecord) -> EventRecord {
        var event = EventRecord(at: probe.startedAt, probeID: probe.id, op: "probe.start", outcome: "ok",
                                args: probe.request, result: Detail.object(["kind": .string(probe.kind), "target": .string(probe.target)]))
        event.netns = probe.netns
        return event
    }

    /// The `probe.finish` event; `reason` is the probe's, an object inside the result (never a string of JSON).
    static func finishEvent(_ probe: ProbeRecord, reason: Detail?) -> EventRecord {
        var result: [String: Detail] = ["outcome": .string(probe.outcome ?? "failure")]
        if let reason { result["reason"] = reason }
        var event = EventRecord(at: probe.finishedAt ?? probe.startedAt, probeID: probe.id, op: "probe.finish",
                                outcome: probe.outcome == "failure" ? "error" : "ok", durationUs: probe.durationUs,
                                result: Detail.object(result))
        event.netns = probe.netns
        return event
    }
}
