import ArgumentParser
import FoundationEssentials
import HTTPServer
import Logging
import ServiceLifecycle
import SockpitAPI
import SockpitServer
import SockpitCore

/// `sockpit serve`: runs the HTTP API until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API (the default command).",
        discussion: """
            Listens on 127.0.0.1:8080 by default. Listening beyond loopback requires --token (or --insecure): \
            the API can open sockets on this host. SIGTERM or SIGINT stops gracefully: new requests get 503, \
            in-flight ones get the grace period, then the database is checkpointed and closed.
            """)

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp(
        "Address to listen on: IPv4 HOST:PORT, [IPv6]:PORT or localhost:PORT; port 0 picks a free port. [env: SOCKPIT_LISTEN] [default: 127.0.0.1:8080]",
        valueName: "host:port"))
    var listen: String?

    @Option(name: .long, help: ArgumentHelp(
        "Require 'Authorization: Bearer <token>' on every /v1 request except GET /v1/health. [env: SOCKPIT_TOKEN]",
        valueName: "token"))
    var token: String?

    @Flag(name: .long, help: "Allow listening on a non-loopback address without a token. [env: SOCKPIT_INSECURE=1]")
    var insecure = false

    @Option(name: .long, help: ArgumentHelp(
        "Largest accepted request body in bytes; larger ones get 413. [env: SOCKPIT_MAX_BODY_BYTES] [default: 1048576]",
        valueName: "bytes"))
    var maxBodyBytes: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Most simultaneous HTTP connections. [env: SOCKPIT_MAX_CONNECTIONS] [default: 1000]", valueName: "n"))
    var maxConnections: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Most simultaneous connections from one client address; past it a client is disconnected at once, so one address cannot take every slot. [env: SOCKPIT_MAX_CONNECTIONS_PER_CLIENT] [default: a quarter of --max-connections]",
        valueName: "n"))
    var maxConnectionsPerClient: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Seconds of silence after which a connection that has not sent a whole request is closed; idle keep-alive connections get 120, or this too once nine tenths of --max-connections are open. [env: SOCKPIT_REQUEST_TIMEOUT] [default: 10]",
        valueName: "seconds"))
    var requestTimeout: Int?

    @Option(name: .long, help: ArgumentHelp(
        "HTTP worker threads (libmicrohttpd thread pool). [env: SOCKPIT_HTTP_THREADS] [default: 2]", valueName: "n"))
    var httpThreads: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Seconds in-flight requests get to finish after SIGTERM/SIGINT. [env: SOCKPIT_SHUTDOWN_GRACE] [default: 10]",
        valueName: "seconds"))
    var shutdownGrace: Double?

    @Option(name: .long, help: ArgumentHelp(
        "Directory for Unix filesystem socket names; names outside it are refused. [env: SOCKPIT_UNIX_DIR] [default: DATA_DIR/sockets]",
        valueName: "path"))
    var unixDir: String?

    @Option(name: .customLong("allow-target"), help: ArgumentHelp(
        "Allow connect/send-to targets in CIDR[:ports] (repeatable; e.g. 10.0.0.0/8:443, [::1]/128). Once any allow rule is given, other targets are denied. [env: SOCKPIT_ALLOW_TARGETS, comma-separated]",
        valueName: "rule"))
    var allowTargets: [String] = []

    @Option(name: .customLong("deny-target"), help: ArgumentHelp(
        "Deny connect/send-to targets in CIDR[:ports] (repeatable); wins over allow. Beyond loopback, loopback, link-local (169.254.169.254) and the host's own addresses are denied by default unless allowed. [env: SOCKPIT_DENY_TARGETS, comma-separated]",
        valueName: "rule"))
    var denyTargets: [String] = []

    @Option(name: .customLong("allow-abstract"), help: ArgumentHelp(
        "Allow abstract Unix names starting with this prefix (repeatable; e.g. sockpit-). With the API beyond loopback, abstract names (the host's own D-Bus, containerd, X11 live there) are denied by default; on loopback every name is allowed. [env: SOCKPIT_ALLOW_ABSTRACT, comma-separated]",
        valueName: "prefix"))
    var allowAbstract: [String] = []

    @Option(name: .customLong("raw-protocols"), help: ArgumentHelp(
        "Let clients open raw IP sockets for these protocols (repeatable or comma-separated: names such as icmp, gre, or numbers; * for all). None by default. The kernel also wants CAP_NET_RAW. [env: SOCKPIT_RAW_PROTOCOLS, comma-separated]",
        valueName: "protocol"))
    var rawProtocols: [String] = []

    @Flag(name: .customLong("allow-packet-sockets"), help: "Let clients open packet sockets (family packet): they see every frame on an interface and can write any. Needs CAP_NET_RAW. [env: SOCKPIT_ALLOW_PACKET_SOCKETS=1]")
    var allowPacketSockets = false

    @Flag(name: .customLong("allow-netlink-writes"), help: "Let managed netlink sockets send requests that change the kernel's state (RTM_NEWADDR, RTM_DELROUTE, ...). The kernel also wants CAP_NET_ADMIN. [env: SOCKPIT_ALLOW_NETLINK_WRITES=1]")
    var allowNetlinkWrites = false

    @Flag(name: .customLong("allow-spoofing"), help: "Let a raw socket's ip_hdrincl header carry a source address that is not one of the host's. [env: SOCKPIT_ALLOW_SPOOFING=1]")
    var allowSpoofing = false

    @Option(name: .long, help: ArgumentHelp(
        "Packets one raw socket may send per second; more answer 429. [env: SOCKPIT_RAW_SEND_RATE] [default: 1000]", valueName: "n"))
    var rawSendRate: Int?

    @Option(name: .customLong("allow-netns"), help: ArgumentHelp(
        "Let sockets and probes be made in this network namespace, a name under /run/netns as `ip netns add` makes them (repeatable; * for every one). None by default. Entering one needs CAP_SYS_ADMIN. [env: SOCKPIT_ALLOW_NETNS, comma-separated]",
        valueName: "name"))
    var allowNetns: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Most managed sockets open at once; more answer 429. [env: SOCKPIT_MAX_OPEN_SOCKETS] [default: 1024]", valueName: "n"))
    var maxOpenSockets: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Largest payload of one send, in bytes; larger answer 413. [env: SOCKPIT_MAX_SEND_BYTES] [default: 262144]", valueName: "bytes"))
    var maxSendBytes: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Largest max_bytes of one receive. [env: SOCKPIT_MAX_RECEIVE_BYTES] [default: 1048576]", valueName: "bytes"))
    var maxReceiveBytes: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Most ports one probe may name. [env: SOCKPIT_MAX_PORTS_PER_PROBE] [default: 65535]", valueName: "n"))
    var maxPortsPerProbe: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Most probes running at once; more answer 429. [env: SOCKPIT_MAX_CONCURRENT_PROBES] [default: 16]", valueName: "n"))
    var maxConcurrentProbes: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Seconds after which a probe ends, keeping what it has. [env: SOCKPIT_PROBE_DEADLINE] [default: 120]", valueName: "seconds"))
    var probeDeadline: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Longest wait of one socket operation in ms; a larger timeout_ms is capped to it. [env: SOCKPIT_MAX_WAIT_MS] [default: 300000]",
        valueName: "ms"))
    var maxWaitMs: Int?

    @Option(name: .customLong("cors-origin"), help: ArgumentHelp(
        "Let a browser page from this origin use the API and the event stream (repeatable; e.g. http://localhost:3000, or * for any, which needs --token). None by default. The token still applies. [env: SOCKPIT_CORS_ORIGINS, comma-separated]",
        valueName: "origin"))
    var corsOrigins: [String] = []

    @Option(name: .customLong("allow-host"), help: ArgumentHelp(
        "A host name clients may reach the API by (repeatable; e.g. sockpit.internal). IP addresses and localhost are always taken; a request naming any other host is refused with 421, so that a web page cannot reach the API through DNS rebinding. [env: SOCKPIT_ALLOW_HOSTS, comma-separated]",
        valueName: "name"))
    var allowHosts: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Seconds between heartbeat comments on an idle event stream. [env: SOCKPIT_SSE_HEARTBEAT] [default: 15]", valueName: "seconds"))
    var sseHeartbeat: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Events an event-stream client may fall behind before its stream ends (slow-consumer; it resumes by id). [env: SOCKPIT_SSE_BUFFER] [default: 2000]",
        valueName: "events"))
    var sseBuffer: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Most event streams open at once; more get 429. [env: SOCKPIT_SSE_MAX_SUBSCRIBERS] [default: 256]", valueName: "n"))
    var sseMaxSubscribers: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Longest life of one event stream in ms; it then ends (event end, reason max-duration) and the client resumes by id. 0: unlimited. [env: SOCKPIT_SSE_MAX_DURATION_MS] [default: 0]",
        valueName: "ms"))
    var sseMaxDurationMs: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Prune events older than this many days (0 keeps them forever); open sockets and running probes keep theirs. [env: SOCKPIT_RETENTION_DAYS] [default: 30]",
        valueName: "days"))
    var retentionDays: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Keep at most this many events, pruning the oldest (0: no limit); open sockets and running probes keep theirs. [env: SOCKPIT_RETENTION_MAX_EVENTS] [default: 5000000]",
        valueName: "n"))
    var retentionMaxEvents: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Seconds between retention passes (each prunes in batches of 500 rows). [env: SOCKPIT_RETENTION_INTERVAL] [default: 60]",
        valueName: "seconds"))
    var retentionInterval: Int?

    func run() async throws {
        try common.bootstrapLogging()
        let logger = Logger(label: "sockpit")
        let settings = try ServeSettings(command: self, environment: ProcessInfo.processInfo.environment)
        if let refusal = settings.listenRefusal { throw CleanExit.message("error: \(refusal)", code: 2) }
        if settings.insecure, settings.token == nil, !ServeSettings.isLoopback(settings.host) {
            logger.warning("listening beyond loopback without a token (--insecure): anyone who reaches this address can open sockets on this host",
                           metadata: ["http.address": "\(settings.host)"])
        }

        let probeLimits: ProbeLimits
        do { probeLimits = try settings.limits.claimDescriptors(probes: settings.probeLimits) } catch {
            throw CleanExit.message("error: \(error.detail)", code: 2)
        }
        let file: HistoryFile
        do { file = try HistoryFile.open(path: common.databasePath(), logger: logger) } catch {
            throw CleanExit.message("error: \(error.message)", code: 1)
        }
        let policy: SocketPolicy
        do {
            policy = try settings.socketPolicy(dataDirectory: common.resolvedDataDirectory())
        } catch let error as SockpitError {
            try? file.close()
            throw CleanExit.message("error: \(error.detail)", code: 2)
        }
        let capabilities = CapabilityReport.probe(
            limits: settings.limits, policy: policy, probeLimits: probeLimits, httpLibraryVersion: MicroHTTPDTransport.libraryVersion,
            sqliteVersion: HistoryFile.sqliteVersion)
        let runtime = SockpitRuntime(
            history: file, capabilities: capabilities, policy: policy,
            probeLimits: probeLimits, streams: settings.streams, retention: settings.retention, logger: logger)
        var http = settings.http
        http.onRequestCompleted = SockpitServer.requestMetrics(runtime)
        let transport = MicroHTTPDTransport(configuration: http, logger: logger)
        try SockpitServer.install(runtime, on: transport, token: settings.token, logger: logger)

        let service = HTTPService(transport: transport, runtime: runtime, grace: settings.grace, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        LogSink.shared.flush()
    }
}

/// Runs the transport until a graceful shutdown is requested, then stops it and closes the database.
struct HTTPService: Service {
    let transport: MicroHTTPDTransport
    let runtime: SockpitRuntime
    let grace: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await runtime.start()
            try transport.start()
        } catch {
            await runtime.shutdown()
            throw error
        }
        logger.info("sockpit ready", metadata: ["http.port": "\(transport.port)", "db.path": "\(runtime.databasePath)"])
        try? await gracefulShutdown()
        logger.info("shutting down", metadata: ["grace_s": "\(grace)"])
        await transport.shutdown(gracePeriod: grace) { runtime.endStreams() }
        await runtime.shutdown()
    }
}
