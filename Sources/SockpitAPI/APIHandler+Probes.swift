import FoundationEssentials
import OpenAPIRuntime
import SockpitCore
import SockpitContract

extension APIHandler {
    /// `POST /v1/probes`: 201 with the result, or 202 at once with `wait=false`.
    func createProbe(_ input: Operations.CreateProbe.Input) async throws -> Operations.CreateProbe.Output {
        guard case .json(let request) = input.body else { throw APIProblem.unsupportedMediaType("send application/json") }
        let spec = try Self.probeSpec(request, maxConcurrency: runtime.probes.limits.maxConcurrency)
        let wait = input.query.wait ?? true
        let view = try await runtime.probes.run(spec, wait: wait)
        let body = try Self.probe(view, results: input.query.results?.rawValue)
        let location = "/v1/probes/\(view.probe.id)"
        if wait { return .created(.init(headers: .init(location: location), body: .json(body))) }
        return .accepted(.init(headers: .init(location: location), body: .json(body)))
    }

    /// `GET /v1/probes`.
    func listProbes(_ input: Operations.ListProbes.Input) async throws -> Operations.ListProbes.Output {
        let query = input.query
        if let target = query.target, target.unicodeScalars.count > 253 {
            throw APIProblem.validation("target is longer than 253 characters", field: "target")
        }
        let page = try await runtime.probes.list(ProbeQuery(
            kind: query.kind?.rawValue, target: query.target, outcome: query.outcome?.rawValue,
            since: query.since.map(Self.micros), until: query.until.map(Self.micros),
            limit: try Paging.limit(query.limit), cursor: try Paging.cursor(query.cursor), order: Paging.order(query.order?.rawValue)))
        let items = try page.items.map { try Self.probe(ProbeView(probe: $0, results: []), results: nil, includeResults: false) }
        return .ok(.init(body: .json(.init(items: items, nextCursor: page.nextCursor.map(String.init)))))
    }

    /// `GET /v1/probes/{id}`.
    func getProbe(_ input: Operations.GetProbe.Input) async throws -> Operations.GetProbe.Output {
        let view = try await runtime.probes.get(id: input.path.id)
        return .ok(.init(body: .json(try Self.probe(view, results: input.query.results?.rawValue))))
    }

    // MARK: - Translation

    /// Applies the `results` query parameter: every port (`all`), those not closed, or none. `auto` (the default):
    /// every row for one port or for echoes; for several ports, those not closed (closed ones are summarized).
    static func filter(_ view: ProbeView, _ mode: String?) -> ProbeView {
        var view = view
        let scan = view.probe.kind == "tcp" || view.probe.kind == "udp"
        let several = view.results.count > 1 || view.results.contains { $0.lastPosition != nil }
        switch mode {
        case "none": view.results = []
        case "not_closed": view.results.removeAll { $0.state == "closed" }
        case "all": view.results = ProbeResults.expanded(view.results)
        default:
            if scan && several { view.results.removeAll { $0.state == "closed" } } else { view.results = ProbeResults.expanded(view.results) }
        }
        return view
    }

    static func probeSpec(_ request: Components.Schemas.ProbeRequest, maxConcurrency: Int) throws -> ProbeSpec {
        let kind = request.kind.rawValue
        guard !request.target.isEmpty, request.target.unicodeScalars.count <= 253 else {
            throw APIProblem.validation("target must be 1 to 253 characters long", field: "target")
        }
        var ports: [UInt16] = []
        switch request.ports {
        case .none: break
        case .case1(let port)?:
            guard (1...65535).contains(port) else { throw APIProblem.validation("ports: \(port) is not a port (1 to 65535)", field: "ports") }
            ports = [UInt16(port)]
        case .case2(let list)?:
            guard !list.isEmpty, list.count <= 1000 else {
                throw APIProblem.validation("ports: a list holds 1 to 1000 ports; use ranges (\"1-65535\") for more", field: "ports")
            }
            for port in list where !(1...65535).contains(port) {
                throw APIProblem.validation("ports: \(port) is not a port (1 to 65535)", field: "ports")
            }
            ports = Array(Set(list.map { UInt16($0) })).sorted()
        case .case3(let text)?:
            ports = try ProbeSpec.parsePorts(text, field: "ports")
        }
        func bounded(_ value: Int?, _ field: String, _ range: ClosedRange<Int>, default fallback: Int) throws -> Int {
            let value = value ?? fallback
            guard range.contains(value) else {
                throw APIProblem.validation("\(field) must be between \(range.lowerBound) and \(range.upperBound), got \(value)", field: field)
            }
            return value
        }
        let isICMP = kind == "icmp"
        let isTrace = kind == "traceroute"
        let count = try bounded(request.count, "count", isTrace ? 1...10 : 1...1000, default: isICMP ? 4 : isTrace ? 3 : 1)
        let maxHops = try bounded(request.maxHops, "max_hops", 1...64, default: 30)
        let firstHop = try bounded(request.firstHop, "first_hop", 1...64, default: 1)
        if !isTrace, let field = [request.method != nil ? "method" : nil, request.maxHops != nil ? "max_hops" : nil,
                                  request.firstHop != nil ? "first_hop" : nil].compactMap({ $0 }).first {
            throw APIProblem.validation("\(field) applies to traceroute probes only", field: field)
        }
        let interval = try bounded(request.intervalMs, "interval_ms", 0...60000, default: isICMP ? 1000 : 0)
        let timeout = try bounded(request.timeoutMs, "timeout_ms", 1...60000, default: 1000)
        let concurrency = try bounded(request.concurrency, "concurrency", 1...ProbeLimits.concurrencyCeiling,
                                      default: min(ProbeLimits.defaultConcurrency, maxConcurrency))
        let size = try bounded(request.size, "size", 0...65000, default: 56)
        if let ttl = request.ttl, !(1...255).contains(ttl) {
            throw APIProblem.validation("ttl must be between 1 and 255, got \(ttl)", field: "ttl")
        }
        let encoding = request.encoding?.value1.rawValue ?? "utf8"
        let payload = try request.payload.map { try Payload.decode($0, encoding: encoding, field: "payload") }
        var expectation: ProbeExpectation?
        if let expect = request.expect?.value1 {
            // The contract's maxLength counts characters (code points).
            if let regex = expect.regex, regex.unicodeScalars.count > 1000 {
                throw APIProblem.validation("expect.regex has at most 1000 characters, got \(regex.unicodeScalars.count)", field: "expect.regex")
            }
            if let contains = expect.contains, contains.unicodeScalars.count > 4096 {
                throw APIProblem.validation("expect.contains has at most 4096 characters, got \(contains.unicodeScalars.count)",
                                            field: "expect.contains")
            }
            switch (expect.regex, expect.contains) {
            case (let regex?, nil): expectation = try ProbeExpectation.compiled(regex: regex, field: "expect.regex")
            case (nil, let contains?): expectation = .contains(try Payload.decode(contains, encoding: encoding, field: "expect.contains"))
            case (nil, nil): break
            default: throw APIProblem.validation("expect takes regex or contains, not both", field: "expect")
            }
        }
        let family: AddressFamily? = switch request.ipFamily?.value1.rawValue {
        case "inet": .inet
        case "inet6": .inet6
        default: nil
        }
        var echo: [String: Detail] = [
            "kind": .string(kind), "target": .string(request.target), "count": .int(Int64(count)),
            "interval_ms": .int(Int64(interval)), "timeout_ms": .int(Int64(timeout)),
        ]
        if !ports.isEmpty {
            echo["ports"] = .string(Self.describe(ports))
            echo["concurrency"] = .int(Int64(concurrency))
        }
        if let payload { echo["payload"] = PayloadPreview.json(payload[...]) }
        if let ttl = request.ttl { echo["ttl"] = .int(Int64(ttl)) }
        if isICMP { echo["size"] = .int(Int64(size)) }
        if let family { echo["ip_family"] = .string(family.name) }
        if let netns = request.netns { echo["netns"] = .string(netns) }
        if isTrace {
            echo["method"] = .string(request.method?.value1.rawValue ?? "udp")
            echo["max_hops"] = .int(Int64(maxHops))
            echo["first_hop"] = .int(Int64(firstHop))
        }
        if request.readBanner == true { echo["read_banner"] = .bool(true) }
        if let expect = request.expect?.value1 {
            var members: [String: Detail] = [:]
            if let regex = expect.regex { members["regex"] = .string(regex) }
            if let contains = expect.contains { members["contains"] = .string(contains) }
            echo["expect"] = .object(members)
        }
        var spec = ProbeSpec(
            kind: kind, target: request.target, ports: ports, count: count, interval: .milliseconds(interval),
            timeout: .milliseconds(timeout), concurrency: concurrency, payload: payload, expect: expectation,
            readBanner: request.readBanner ?? false, ttl: request.ttl, size: size, family: family, netns: request.netns,
            request: .object(echo))
        if isTrace {
            spec.method = request.method?.value1.rawValue ?? "udp"
            spec.maxHops = maxHops
            spec.firstHop = firstHop
        }
        return spec
    }

    /// "1-1024,8080" for a sorted port list.
    static func describe(_ ports: [UInt16]) -> String {
        var parts: [String] = []
        var index = 0
        while index < ports.count {
            var end = index
            while end + 1 < ports.count, ports[end + 1] == ports[end] + 1 { end += 1 }
            parts.append(end == index ? "\(ports[index])" : "\(ports[index])-\(ports[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    /// The probe as the API shows it, its rows chosen by `results` (see `filter`); a tcp or udp probe of several
    /// ports also gets `closed_ports`, the closed ones counted and as ranges.
    static func probe(_ stored: ProbeView, results mode: String?, includeResults: Bool = true) throws -> Components.Schemas.Probe {
        let view = filter(stored, mode)
        let probe = view.probe
        var closedPorts: Components.Schemas.ClosedPorts?
        if includeResults, probe.kind == "tcp" || probe.kind == "udp",
           stored.results.count > 1 || stored.results.contains(where: { $0.lastPosition != nil }) {
            let closed = ProbeResults.closed(stored.results)
            closedPorts = .init(count: closed.count, ranges: closed.ranges)
        }
        let kind = try Components.Schemas.ProbeKind(listed: probe.kind)
        let isEcho = probe.kind == "icmp"
        let isTrace = probe.kind == "traceroute"
        let results: [Components.Schemas.ProbeAttempt]? = includeResults ? try view.results.map { row in
            let detail = row.detail?.members ?? [:]
            let reply = detail["reply"]?.members?["preview"]?.string
            var expectMatched: Bool?
            if case .bool(let matched)? = detail["expect_matched"] { expectMatched = matched }
            return Components.Schemas.ProbeAttempt(
                port: isEcho || isTrace ? nil : row.position, sequence: isEcho ? row.position : nil,
                hop: isTrace ? row.position : nil, query: isTrace ? detail["query"]?.int.map { Int($0) } : nil,
                address: detail["address"]?.string,
                icmpType: detail["icmp_type"]?.int.map { Int($0) }, icmpCode: detail["icmp_code"]?.int.map { Int($0) }, state: try .init(listed: row.state),
                rttMs: row.rttUs.map { Double($0) / 1000 }, ttl: row.ttl, bytes: row.bytes, errno: row.errno,
                expectMatched: expectMatched, reply: reply)
        } : nil
        return Components.Schemas.Probe(
            id: probe.id, kind: kind, target: probe.target, resolvedAddress: probe.resolvedAddress, netns: probe.netns,
            status: probe.status == .running ? .running : .finished,
            outcome: try probe.outcome.map { .init(value1: try Self.enumValue($0.rawValue)) },
            reason: try probe.reason.map { .init(value1: try $0.decoded()) },
            startedAt: Time.date(micros: probe.startedAt), finishedAt: probe.finishedAt.map(Time.date(micros:)),
            durationMs: probe.durationUs.map { Double($0) / 1000 },
            phases: try probe.phases.map { try $0.decoded() }, summary: try probe.summary.map { try $0.decoded() },
            results: results, closedPorts: closedPorts)
    }

    private static func enumValue(_ raw: String) throws -> Components.Schemas.ProbeOutcome {
        guard let value = Components.Schemas.ProbeOutcome(rawValue: raw) else {
            throw SockpitError(.internal, "stored probe outcome '\(raw)' is unknown")
        }
        return value
    }

    static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
}
