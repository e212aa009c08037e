import SocketKit
import Storage
import SystemPackage

/// What a probe's raw results mean: each port's or echo's row, the outcome, its reason and summary.
extension ProbeRunner {
    func judgePorts(_ results: [PortResult], kind: String, spec: ProbeSpec) -> ProbeOutcome {
        let now = UnixTime.nowMicros()
        var counts: [String: Int] = [:]
        var good = 0
        var reason: Detail?
        var rows: [ProbeResultRecord] = []
        rows.reserveCapacity(results.count)
        for result in results {
            counts[result.state.rawValue, default: 0] += 1
            let ok = result.state == .open && result.expectMatched != false
            if ok { good += 1 } else if reason == nil { reason = Self.portReason(result, kind: kind) }
            var detail: [String: Detail] = [:]
            if let matched = result.expectMatched { detail["expect_matched"] = .bool(matched) }
            if let reply = result.reply { detail["reply"] = PayloadPreview.json(reply[...]) }
            if let firstByte = result.firstByte { detail["first_byte_ms"] = .double(Self.ms(firstByte)) }
            rows.append(ProbeResultRecord(
                position: Int(result.port), state: result.state.rawValue, rttUs: result.rtt.map(Self.micros), ttl: result.ttl,
                bytes: result.reply?.count, errno: result.errno, detail: detail.isEmpty ? nil : Detail.object(detail), at: now))
        }
        var phases: [String: Detail] = [:]
        if let first = results.first(where: { $0.rtt != nil }), let rtt = first.rtt { phases["connect_ms"] = .double(Self.ms(rtt)) }
        if let first = results.first(where: { $0.firstByte != nil }), let byte = first.firstByte { phases["first_byte_ms"] = .double(Self.ms(byte)) }
        let summary = Detail.object([
            "open": .int(Int64(counts["open"] ?? 0)), "closed": .int(Int64(counts["closed"] ?? 0)),
            "filtered": .int(Int64(counts["filtered"] ?? 0)), "open_filtered": .int(Int64(counts["open|filtered"] ?? 0)),
            "untested": .int(Int64(counts["untested"] ?? 0)),
        ])
        // Runs of closed ports are kept as ranges: a full scan is a few rows, not 65,535.
        return ProbeOutcome(rows: ProbeResults.compacted(rows), good: good, total: results.count, reason: reason,
                            summary: summary, phases: phases)
    }

    func judgeEchoes(_ results: [EchoResult], mode: ICMPMode) -> ProbeOutcome {
        let now = UnixTime.nowMicros()
        var good = 0
        var reason: Detail?
        let rows = results.map { echo -> ProbeResultRecord in
            if echo.state == .reply { good += 1 } else if reason == nil {
                reason = echo.state == .timeout
                    ? Self.reason("timeout", "echo \(echo.sequence) got no reply in time", errno: "ETIMEDOUT")
                    : Self.reason("unreachable", "echo \(echo.sequence): ICMP type \(echo.icmpType ?? -1) code \(echo.icmpCode ?? -1)", errno: echo.errno)
            }
            var detail: [String: Detail] = ["mode": .string(mode.rawValue)]
            if let type = echo.icmpType { detail["icmp_type"] = .int(Int64(type)) }
            if let code = echo.icmpCode { detail["icmp_code"] = .int(Int64(code)) }
            return ProbeResultRecord(position: Int(echo.sequence), state: echo.state.rawValue, rttUs: echo.rtt.map(Self.micros),
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

    func finishRecord(_ probe: ProbeRecord, spec: ProbeSpec, rows: [ProbeResultRecord], reason: Detail?,
                      started: ContinuousClock.Instant, resolveMs: Double, summary: Detail?,
                      phases extra: [String: Detail] = [:], good: Int? = nil) -> (ProbeRecord, EventRecord) {
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
        case .untested:
            let errno = result.errno ?? "EMFILE"
            let what = ["EMFILE": "file descriptors", "ENFILE": "the system's file descriptors",
                        "EADDRNOTAVAIL": "local ports", "ENOBUFS": "socket buffers"][errno] ?? "a local resource"
            return reason("local-limit", "\(place) was not tested: the service ran out of \(what) (\(errno))", errno: errno)
        case .openFiltered:
            return reason("timeout", "\(place) sent no reply in time (open or filtered)", errno: nil)
        case .open:
            return reason("expect-mismatch", "\(place) answered but the reply did not match expect", errno: nil)
        }
    }
}
