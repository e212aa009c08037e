import ArgumentParser
import Foundation
import SockpitClient
import SockpitContract

/// `sockpit probe tcp|udp|icmp|unix|traceroute TARGET`: run a probe on the server and print its result.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Probe an endpoint from the server: a port scan, ICMP echoes, a Unix socket, a traceroute.",
        discussion: "On a terminal a long probe shows its progress on stderr (it runs in the background and is polled); with --json or when not on a terminal the answer is printed once it is done.",
        subcommands: [TCP.self, UDP.self, ICMP.self, Unix.self, Traceroute.self])

    /// Options of every kind of probe.
    struct Common: ParsableArguments {
        @OptionGroup var client: ClientOptions
        @Option(help: "Per attempt, how long to wait for an answer.") var timeoutMs: Int?
        @Option(help: "Run it from this network namespace (when the server allows it).") var netns: String?
    }

    struct TCP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Scan TCP ports with connects: open, closed, filtered.", usage: "sockpit probe tcp <host>:<ports> (e.g. 127.0.0.1:1-1024, [::1]:22,80)")
        @OptionGroup var common: Common
        @Argument(help: "host:ports, ports as 80, 1-1024 or 22,80,8000-8100.") var target: String
        @Option(help: "Ports in flight at once.") var concurrency: Int?
        @Flag(help: "A row for every port, closed ones too.") var all = false

        func run() async throws {
            let (host, ports) = try ProbeCommand.hostAndPorts(target)
            try await ProbeCommand.run(["kind": "tcp", "target": host, "ports": ports, "concurrency": concurrency], common, all: all)
        }
    }

    struct UDP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Probe UDP ports: open (a reply), closed (port unreachable), open|filtered.", usage: "sockpit probe udp <host>:<ports>")
        @OptionGroup var common: Common
        @Argument(help: "host:ports.") var target: String
        @Flag(help: "A row for every port, closed ones too.") var all = false

        func run() async throws {
            let (host, ports) = try ProbeCommand.hostAndPorts(target)
            try await ProbeCommand.run(["kind": "udp", "target": host, "ports": ports], common, all: all)
        }
    }

    struct ICMP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send ICMP echo requests, as ping does.", usage: "sockpit probe icmp <host> [-c <count>] [-i <interval-ms>]")
        @OptionGroup var common: Common
        @Argument(help: "The host.") var target: String
        @Option(name: .short, help: "How many echo requests.") var count: Int?
        @Option(name: .short, help: "Milliseconds between them.") var interval: Int?

        func run() async throws {
            try await ProbeCommand.run(["kind": "icmp", "target": target, "count": count, "interval_ms": interval], common)
        }
    }

    struct Unix: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Try a Unix socket under the server's sockets directory.", usage: "sockpit probe unix <path>")
        @OptionGroup var common: Common
        @Argument(help: "The socket's path.") var target: String

        func run() async throws {
            try await ProbeCommand.run(["kind": "unix", "target": target], common)
        }
    }

    struct Traceroute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Trace the route to a host, hop by hop.", usage: "sockpit probe traceroute <host> [--method udp|icmp|tcp] [--max-hops <n>]")
        @OptionGroup var common: Common
        @Argument(help: "The host.") var target: String
        @Option(help: "udp (default), icmp or tcp.") var method: String?
        @Option(help: "The highest TTL to try.") var maxHops: Int?
        @Option(name: .short, help: "Probes per hop.") var count: Int?

        func run() async throws {
            try await ProbeCommand.run(["kind": "traceroute", "target": target, "method": method, "max_hops": maxHops, "count": count], common)
        }
    }

    /// `host:ports` split at the last colon (`[v6]:ports` for IPv6).
    static func hostAndPorts(_ text: String) throws -> (String, String) {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else {
            throw ValidationError("'\(text)' is not host:ports (e.g. 127.0.0.1:1-1024)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, String(text[text.index(after: colon)...]))
    }

    /// Runs the probe the request describes and prints it; on a terminal, in the background with progress.
    static func run(_ request: [String: Any?], _ common: Common, all: Bool = false) async throws {
        var object = request.compactMapValues { $0 }
        object["timeout_ms"] = common.timeoutMs
        object["netns"] = common.netns
        let body: Components.Schemas.ProbeRequest = try RequestBody.decode(object, option: "probe")
        let progress = Output.interactive && !common.client.json
        // Waiting for the result, the answer comes when the probe ends: within the server's probe deadline (at most 3,600 s).
        let api = try common.client.client(waiting: progress ? .zero : .seconds(3600))
        let results: Components.Parameters.ProbeResults? = all ? .all : nil
        var probe: Components.Schemas.Probe
        if progress {
            probe = try await api.createProbe(query: .init(wait: false, results: results), body: .json(body)).accepted.body.json
            let started = ContinuousClock.now
            while probe.status == .running {
                let elapsed = (ContinuousClock.now - started).components
                Output.status("\r\(probe.kind.rawValue) \(probe.target): running, \(elapsed.seconds).\(elapsed.attoseconds / 100_000_000_000_000_000) s")
                try await Task.sleep(for: .milliseconds(200))
                probe = try await api.getProbe(path: .init(id: probe.id), query: .init(results: results)).ok.body.json
            }
            Output.status("\r\u{1B}[K")
        } else {
            probe = try await api.createProbe(query: .init(results: results), body: .json(body)).created.body.json
        }
        try common.client.emit(probe, human: Render.probe)
    }
}

extension Render {
    /// A finished probe as nmap, ping or traceroute would print it, then one summary line.
    static func probe(_ probe: Components.Schemas.Probe) -> String {
        var lines: [String] = []
        let rows = probe.results ?? []
        let rtt = { (row: Components.Schemas.ProbeAttempt) in row.rttMs.map { Output.duration(ms: $0) } ?? "-" }
        switch probe.kind {
        case .tcp, .udp:
            if !rows.isEmpty {
                lines.append(Output.table(["PORT", "STATE", "RTT"], rows.map { ["\($0.port ?? 0)", $0.state.rawValue + ($0.errno.map { " (\($0))" } ?? ""), rtt($0)] }))
            }
            if let closed = probe.closedPorts, closed.count > 0 { lines.append("\(closed.count) closed ports (\(closed.ranges))") }
        case .icmp:
            lines += rows.map { "seq=\($0.sequence ?? 0) \($0.state.rawValue)" + ($0.ttl.map { " ttl=\($0)" } ?? "") + ($0.rttMs.map { " rtt=\(Output.duration(ms: $0))" } ?? "") }
        case .traceroute:
            let hops = Dictionary(grouping: rows, by: { $0.hop ?? 0 })
            for hop in hops.keys.sorted() {
                let probes = hops[hop]!.map { ($0.address ?? "*") + ($0.rttMs.map { " " + Output.duration(ms: $0) } ?? "") }
                lines.append(String(format: "%2d  ", hop) + probes.joined(separator: "  "))
            }
        case .unix:
            lines += rows.map { "\($0.state.rawValue)" + ($0.errno.map { " (\($0))" } ?? "") + " " + rtt($0) }
        }
        lines.append(summary(probe))
        return lines.joined(separator: "\n")
    }

    private static func summary(_ probe: Components.Schemas.Probe) -> String {
        var parts: [String] = []
        if let s = probe.summary {
            switch probe.kind {
            case .tcp, .udp, .unix:
                parts.append([("open", s.open), ("closed", s.closed), ("filtered", s.filtered), ("open|filtered", s.openFiltered), ("untested", s.untested)]
                    .compactMap { name, count in count.flatMap { $0 > 0 || name == "open" ? "\($0) \(name)" : nil } }.joined(separator: ", "))
            case .icmp:
                parts.append("\(s.sent ?? 0) sent, \(s.received ?? 0) received, \(s.lossPercent.map { String(format: "%g", $0) } ?? "?")% loss")
                if let min = s.rttMinMs, let avg = s.rttAvgMs, let max = s.rttMaxMs, let mdev = s.rttMdevMs {
                    parts.append(String(format: "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms", min, avg, max, mdev))
                }
            case .traceroute:
                parts.append((s.reached == true ? "reached in \(s.destinationHop ?? 0) hops" : "not reached in \(s.hops ?? 0) hops"))
            }
        }
        if let ms = probe.durationMs { parts.append("in " + Output.duration(ms: ms)) }
        var line = "\(probe.kind.rawValue) \(probe.target)" + (probe.resolvedAddress.map { $0 == probe.target ? "" : " (\($0))" } ?? "") + ": "
        line += parts.joined(separator: "; ")
        line += " — \(probe.outcome?.value1.rawValue ?? probe.status.rawValue)"
        if let reason = probe.reason?.value1 { line += " (\(reason.kind.rawValue): \(reason.message))" }
        return line + " [\(probe.id)]"
    }
}
