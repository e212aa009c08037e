import SocketKit
import Storage
import Synchronization

extension ProbeRunner {
    /// A traceroute probe: the path to `address` hop by hop, each hop stored (with a `probe.hop` event) as soon as it
    /// and the hops before it are done, so a running probe shows its path so far.
    func trace(_ spec: ProbeSpec, to address: SocketAddress, probeID: String, netns: String?, in namespace: NetworkNamespace?,
               deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        var options = TraceOptions()
        options.maxHops = spec.maxHops
        options.firstHop = spec.firstHop
        options.queries = spec.count
        options.timeout = spec.timeout
        options.port = spec.ports.first
        options.namespace = namespace
        options.icmpMode = ICMPEcho.availableMode(for: address.family, in: namespace) ?? .datagram
        let method = TraceMethod(rawValue: spec.method ?? "udp") ?? .udp
        let stored = Mutex([ProbeResultRecord]())
        let task = Task {
            await Traceroute.trace(host: address, method: method, options: options) { [self] hop in
                let rows = hop.map(Self.row(of:))
                stored.withLock { $0 += rows }
                var event = EventRecord(at: UnixTime.nowMicros(), probeID: probeID, op: "probe.hop", outcome: "ok",
                                        result: Self.hopDetail(hop))
                event.netns = netns
                do { _ = try await repository.progress(probeID, results: rows, event: event) } catch {
                    logger.error("recording a traceroute hop failed", metadata: ["probe.id": "\(probeID)", "error": "\(error)"])
                }
            }
        }
        // The probe's deadline ends the trace; the hops so far are kept.
        let watchdog = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            task.cancel()
        }
        // An unstructured task: the probe's own cancellation (shutdown) is passed on by hand.
        let probes = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        watchdog.cancel()
        var outcome = judgeTrace(probes, method: method, maxHops: spec.maxHops)
        outcome.rows = stored.withLock { $0 }
        outcome.stored = true
        return outcome
    }

    /// Reached: success when every probe was answered, partial when some were lost; not reached: failure.
    func judgeTrace(_ probes: [TraceProbe], method: TraceMethod, maxHops: Int) -> ProbeOutcome {
        let reached = probes.first { $0.state == .reached }
        let answered = probes.filter { $0.state != .timeout && $0.state != .error }.count
        let hops = Set(probes.map(\.ttl)).count
        var summary: [String: Detail] = [
            "method": .string(method.rawValue), "hops": .int(Int64(hops)), "reached": .bool(reached != nil),
            "sent": .int(Int64(probes.count)), "answered": .int(Int64(answered)),
        ]
        if let reached { summary["destination_hop"] = .int(Int64(reached.ttl)) }
        let reason: Detail? = reached != nil ? (answered == probes.count ? nil : Self.reason("loss", "\(probes.count - answered) of \(probes.count) probes got no answer", errno: nil))
            : Self.reason("unreached", "the target did not answer within \(maxHops) hops", errno: nil)
        return ProbeOutcome(rows: probes.map(Self.row(of:)), good: reached == nil ? 0 : answered, total: probes.count,
                            reason: reason, summary: .object(summary))
    }

    /// One probe of a trace as a result row: position the hop (its TTL), the answer's address in the detail.
    static func row(of probe: TraceProbe) -> ProbeResultRecord {
        var detail: [String: Detail] = ["query": .int(Int64(probe.query))]
        if let from = probe.from { detail["address"] = .string(Self.host(of: from)) }
        if let type = probe.icmpType { detail["icmp_type"] = .int(Int64(type)) }
        if let code = probe.icmpCode { detail["icmp_code"] = .int(Int64(code)) }
        return ProbeResultRecord(position: probe.ttl, state: probe.state.rawValue, rttUs: probe.rtt.map(Self.micros), ttl: probe.ttl,
                                 bytes: nil, errno: probe.errno, detail: .object(detail), at: UnixTime.nowMicros())
    }

    /// A hop as its `probe.hop` event says: the TTL and each probe's address, state and round trip.
    static func hopDetail(_ hop: [TraceProbe]) -> Detail {
        .object([
            "ttl": .int(Int64(hop.first?.ttl ?? 0)),
            "probes": .array(hop.map { probe in
                var item: [String: Detail] = ["state": .string(probe.state.rawValue)]
                if let from = probe.from { item["address"] = .string(Self.host(of: from)) }
                if let rtt = probe.rtt { item["rtt_ms"] = .double(Self.ms(rtt)) }
                return .object(item)
            }),
        ])
    }

}
