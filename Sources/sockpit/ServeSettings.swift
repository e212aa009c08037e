import ArgumentParser
import HTTPServer
import SockpitCore
import FoundationEssentials

/// `serve`'s effective settings: flag, else environment variable, else embedded default.
struct ServeSettings {
    let http: HTTPServerConfiguration
    let limits: ServiceLimits
    let probeLimits: ProbeLimits
    let token: String?
    let insecure: Bool
    let grace: Duration
    let host: String
    let unixDirectory: String?
    let allowTargets: [String]
    let allowAbstract: [String]
    let allowNetns: [String]
    let raw: RawSocketPolicy
    let denyTargets: [String]
    let streams: StreamSettings
    let corsOrigins: [String]
    let retention: RetentionSettings

    init(command: ServeCommand, environment: [String: String]) throws {
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func integer(_ flag: Int?, _ name: String, _ option: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
            let result: Int
            if let flag { result = flag } else if let text = env(name) {
                guard let parsed = Int(text) else { throw ValidationError("\(name)='\(text)' is not an integer") }
                result = parsed
            } else { result = value }
            guard range.contains(result) else {
                throw ValidationError("--\(option) must be between \(range.lowerBound) and \(range.upperBound), got \(result)")
            }
            return result
        }
        let listen = command.listen ?? env("SOCKPIT_LISTEN") ?? "127.0.0.1:8080"
        let (host, port) = try Self.parseListen(listen)
        let maxBody = try integer(command.maxBodyBytes, "SOCKPIT_MAX_BODY_BYTES", "max-body-bytes", default: 1 << 20, range: 1...(1 << 30))
        let maxConnections = try integer(command.maxConnections, "SOCKPIT_MAX_CONNECTIONS", "max-connections", default: 1000, range: 1...100_000)
        let perClient = try integer(command.maxConnectionsPerClient, "SOCKPIT_MAX_CONNECTIONS_PER_CLIENT", "max-connections-per-client",
                                    default: max(1, maxConnections / 4), range: 1...maxConnections)
        let threads = try integer(command.httpThreads, "SOCKPIT_HTTP_THREADS", "http-threads", default: 2, range: 1...64)
        let graceSeconds: Double
        if let value = command.shutdownGrace { graceSeconds = value } else if let text = env("SOCKPIT_SHUTDOWN_GRACE") {
            guard let parsed = Double(text) else { throw ValidationError("SOCKPIT_SHUTDOWN_GRACE='\(text)' is not a number") }
            graceSeconds = parsed
        } else { graceSeconds = 10 }
        guard graceSeconds >= 0, graceSeconds <= 3600 else { throw ValidationError("--shutdown-grace must be between 0 and 3600 seconds") }

        self.probeLimits = ProbeLimits(
            maxPortsPerProbe: try integer(command.maxPortsPerProbe, "SOCKPIT_MAX_PORTS_PER_PROBE", "max-ports-per-probe", default: 65535, range: 1...65535),
            maxConcurrentProbes: try integer(command.maxConcurrentProbes, "SOCKPIT_MAX_CONCURRENT_PROBES", "max-concurrent-probes", default: 16, range: 1...1024),
            deadline: .seconds(try integer(command.probeDeadline, "SOCKPIT_PROBE_DEADLINE", "probe-deadline", default: 120, range: 1...3600)))
        let maxOpenSockets = try integer(command.maxOpenSockets, "SOCKPIT_MAX_OPEN_SOCKETS", "max-open-sockets", default: 1024, range: 1...1_000_000)
        let maxSend = try integer(command.maxSendBytes, "SOCKPIT_MAX_SEND_BYTES", "max-send-bytes", default: 256 << 10, range: 1...(64 << 20))
        let maxWait = try integer(command.maxWaitMs, "SOCKPIT_MAX_WAIT_MS", "max-wait-ms", default: 300_000, range: 1...300_000)
        let maxReceive = try integer(command.maxReceiveBytes, "SOCKPIT_MAX_RECEIVE_BYTES", "max-receive-bytes", default: 1 << 20, range: 1...(64 << 20))
        func list(_ flags: [String], _ name: String) -> [String] {
            if !flags.isEmpty { return flags }
            return env(name).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } ?? []
        }
        self.allowTargets = list(command.allowTargets, "SOCKPIT_ALLOW_TARGETS")
        self.allowAbstract = list(command.allowAbstract, "SOCKPIT_ALLOW_ABSTRACT")
        self.allowNetns = list(command.allowNetns, "SOCKPIT_ALLOW_NETNS")
        let rawProtocols = list(command.rawProtocols.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } },
                                "SOCKPIT_RAW_PROTOCOLS")
        for name in rawProtocols where name != "*" && !RawSocketPolicy.names(name) {
            throw ValidationError("--raw-protocols '\(name)' is not an IP protocol name or a number from 0 to 255")
        }
        self.raw = RawSocketPolicy(
            protocols: rawProtocols,
            allowSpoofing: command.allowSpoofing || ["1", "true", "yes"].contains(env("SOCKPIT_ALLOW_SPOOFING")?.lowercased() ?? ""),
            sendRate: try integer(command.rawSendRate, "SOCKPIT_RAW_SEND_RATE", "raw-send-rate", default: 1000, range: 1...1_000_000),
            packetSockets: command.allowPacketSockets
                || ["1", "true", "yes"].contains(env("SOCKPIT_ALLOW_PACKET_SOCKETS")?.lowercased() ?? ""),
            netlinkWrites: command.allowNetlinkWrites
                || ["1", "true", "yes"].contains(env("SOCKPIT_ALLOW_NETLINK_WRITES")?.lowercased() ?? ""))
        for name in allowNetns where name != "*" && !NetworkNamespaceName.isValid(name) {
            throw ValidationError("--allow-netns '\(name)' is not a namespace name (a file name under /run/netns, no '/'), nor *")
        }
        self.denyTargets = list(command.denyTargets, "SOCKPIT_DENY_TARGETS")
        self.unixDirectory = command.unixDir ?? env("SOCKPIT_UNIX_DIR")
        self.corsOrigins = list(command.corsOrigins, "SOCKPIT_CORS_ORIGINS")
        let allowHosts = list(command.allowHosts, "SOCKPIT_ALLOW_HOSTS")
        for name in allowHosts where name.isEmpty || name.contains(where: { !($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) {
            throw ValidationError("--allow-host '\(name)' is not a host name (letters, digits, '.', '-'; no port)")
        }
        self.streams = StreamSettings(
            bufferLimit: try integer(command.sseBuffer, "SOCKPIT_SSE_BUFFER", "sse-buffer", default: 2_000, range: 10...1_000_000),
            heartbeatInterval: .seconds(try integer(command.sseHeartbeat, "SOCKPIT_SSE_HEARTBEAT", "sse-heartbeat", default: 15, range: 1...3600)),
            maxDuration: try integer(command.sseMaxDurationMs, "SOCKPIT_SSE_MAX_DURATION_MS", "sse-max-duration-ms", default: 0,
                                     range: 0...86_400_000).nonZero.map { .milliseconds($0) },
            maxSubscribers: try integer(command.sseMaxSubscribers, "SOCKPIT_SSE_MAX_SUBSCRIBERS", "sse-max-subscribers",
                                        default: 256, range: 1...100_000))
        let retentionDays = try integer(command.retentionDays, "SOCKPIT_RETENTION_DAYS", "retention-days", default: 30, range: 0...36_500)
        let retentionMaxEvents = try integer(command.retentionMaxEvents, "SOCKPIT_RETENTION_MAX_EVENTS", "retention-max-events",
                                             default: 5_000_000, range: 0...1_000_000_000)
        let retentionInterval = try integer(command.retentionInterval, "SOCKPIT_RETENTION_INTERVAL", "retention-interval",
                                            default: 60, range: 1...86_400)
        self.retention = RetentionSettings(
            maxAge: retentionDays.nonZero.map { .seconds($0 * 86_400) }, maxEvents: retentionMaxEvents.nonZero,
            interval: .seconds(retentionInterval))
        self.host = host
        self.http = HTTPServerConfiguration(
            host: host, port: port, threads: threads, maxRequestBodyBytes: maxBody, connectionLimit: maxConnections,
            connectionsPerClient: perClient,
            requestTimeoutSeconds: try integer(command.requestTimeout, "SOCKPIT_REQUEST_TIMEOUT", "request-timeout", default: 10, range: 1...120),
            corsAllowedOrigins: corsOrigins, allowedHosts: allowHosts)
        self.limits = ServiceLimits(maxRequestBodyBytes: maxBody, maxConnections: maxConnections, httpThreads: threads,
                                    maxOpenSockets: maxOpenSockets, maxSendBytes: maxSend, maxReceiveBytes: maxReceive,
                                    maxWaitMs: maxWait)
        let token = command.token ?? env("SOCKPIT_TOKEN")
        if let token, token.allSatisfy(\.isWhitespace) {
            throw ValidationError("--token (or SOCKPIT_TOKEN) is empty or only whitespace: give a real secret, or none")
        }
        self.token = token
        self.insecure = command.insecure || ["1", "true", "yes"].contains(env("SOCKPIT_INSECURE")?.lowercased() ?? "")
        self.grace = .milliseconds(Int(graceSeconds * 1000))
    }

    /// The socket registry's rules: target policy (defaults depend on whether the API is loopback-only),
    /// Unix path confinement and limits.
    func socketPolicy(dataDirectory: String) throws -> SocketPolicy {
        let allow = try allowTargets.map { try TargetRule(parsing: $0, field: "--allow-target") }
        let deny = try denyTargets.map { try TargetRule(parsing: $0, field: "--deny-target") }
        let targets = TargetPolicy.defaults(apiOnLoopbackOnly: Self.isLoopback(host), allow: allow, deny: deny,
                                            allowAbstract: allowAbstract)
        let directory = unixDirectory.map { $0.hasPrefix("/") ? $0 : dataDirectory + "/" + $0 } ?? dataDirectory + "/sockets"
        return SocketPolicy(
            targets: targets, unixPaths: try UnixPathConfinement(directory: directory), maxOpenSockets: limits.maxOpenSockets,
            maxSendBytes: limits.maxSendBytes, maxReceiveBytes: limits.maxReceiveBytes,
            maxWait: .milliseconds(limits.maxWaitMs), namespaces: Namespaces(allowed: allowNetns), raw: raw)
    }

    /// Why the service must not start so, or nil: beyond loopback it needs a token, and so does a CORS policy
    /// of any origin (any web page its users open could otherwise drive the API through their browsers).
    var listenRefusal: String? {
        guard token == nil, !insecure else { return nil }
        if !Self.isLoopback(host) {
            return "refusing to listen on \(host) without a token: the API can open sockets on this host. Set --token (or SOCKPIT_TOKEN), listen on 127.0.0.1 / [::1], or pass --insecure if you really mean it."
        }
        if corsOrigins.contains("*") {
            return "refusing --cors-origin '*' without a token: any web page opened in a browser on this host could then use the API. Set --token (or SOCKPIT_TOKEN), name the dashboard's origin instead of *, or pass --insecure if you really mean it."
        }
        return nil
    }

    /// Splits `HOST:PORT`, `[V6]:PORT` or `localhost:PORT`.
    static func parseListen(_ text: String) throws -> (String, Int) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ValidationError("--listen '\(text)': expected [IPv6]:PORT, e.g. [::1]:8080")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw ValidationError("--listen '\(text)': expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ValidationError("--listen '\(text)': the port must be a number from 0 to 65535")
        }
        guard !host.isEmpty else { throw ValidationError("--listen '\(text)': the host is missing") }
        return (host == "localhost" ? "127.0.0.1" : String(host), port)
    }

    /// 127.0.0.0/8 and ::1 (also written in full).
    static func isLoopback(_ host: String) -> Bool {
        if host.hasPrefix("127.") { return true }
        let v6 = host.lowercased()
        return v6 == "::1" || v6 == "0:0:0:0:0:0:0:1" || v6 == "::ffff:127.0.0.1"
    }
}

extension Int {
    /// nil for 0 (a limit of 0 means "none" in the command's options).
    var nonZero: Int? { self == 0 ? nil : self }
}
