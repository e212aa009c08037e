import CMicroHTTPD
public import HTTPTypes
public import Logging
public import OpenAPIRuntime
import Synchronization

/// libmicrohttpd as a swift-openapi-runtime `ServerTransport`.
///
/// Handlers are async; libmicrohttpd's threads never wait for them. When a request is complete the
/// connection is suspended, a task runs the handler, stores the response and resumes the connection, and
/// the next access-handler call queues it. A route whose declared lane is `.daemonThread` starts its handler on
/// the daemon thread instead: answered at once when it does not suspend, suspended and resumed as above when it does.
/// Register every route, then `start()`; stop with `shutdown`.
public final class MicroHTTPDTransport: ServerTransport, Sendable {
    private let core: TransportCore

    /// Creates a transport that will listen as configured once started.
    public init(configuration: HTTPServerConfiguration, logger: Logger) {
        core = TransportCore(configuration: configuration, logger: logger)
    }

    /// Registers an operation's handler for a method and OpenAPI path template.
    public func register(
        _ handler: @Sendable @escaping (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (
            HTTPResponse, HTTPBody?
        ),
        method: HTTPRequest.Method,
        path: String
    ) throws {
        try core.register(handler, method: method, path: path)
    }

    /// Declares, before any route is registered, where every operation's handler starts (`Lane`). From then
    /// on an operation registered without a lane is refused, and so is `start()` while a declared lane has no
    /// route: no operation goes a way nobody chose. Without a declaration every handler starts on the pool.
    public func declare(lanes: [Lane]) throws {
        try core.declare(lanes: lanes)
    }

    /// Binds the listen address and starts the daemon's threads.
    public func start() throws { try core.start() }

    /// The TCP port the server listens on (the kernel's choice when configured with port 0).
    public var port: Int { core.boundPort }

    /// The libmicrohttpd version linked in, e.g. "0.9.75".
    public static var libraryVersion: String { String(cString: sockpit_mhd_version()) }

    /// Stops gracefully: new requests get 503, streams end, in-flight handlers get `gracePeriod` to finish
    /// (then their requests are answered 503), and the daemon stops once no connection is suspended.
    ///
    /// `whenStopping` runs once new requests are refused and before streams are cut: the place to tell stream
    /// producers to write their last words (an SSE `end` event). Streams then get up to a second (within the
    /// grace period) to end on their own before they are ended.
    public func shutdown(gracePeriod: Duration, whenStopping: @Sendable () -> Void = {}) async {
        await core.shutdown(gracePeriod: gracePeriod, whenStopping: whenStopping)
    }
}

/// The daemon and everything its C callbacks reach, passed to them as an unretained `cls` pointer; the
/// transport keeps it alive for the daemon's whole life.
final class TransportCore: @unchecked Sendable {
    let configuration: HTTPServerConfiguration
    let logger: Logger
    /// Written only before `start()`.
    private(set) var router = Router()
    /// Written only by `start()`, before the daemon runs.
    private(set) var cors = CORSPolicy.disabled
    /// Written only by `start()`, before the daemon runs.
    private(set) var browserGuard = BrowserGuard(allowedHosts: [])
    private let daemon = Mutex<DaemonHandle?>(nil)
    private let started = Atomic<Bool>(false)
    let stopping = Atomic<Bool>(false)
    let runningHandlers = Atomic<Int>(0)
    /// Every request between its first access-handler call and its completion notification.
    let requests = RequestRegistry()
    private(set) var boundPort = 0

    /// When libmicrohttpd's last message was logged, and how many came since (`libraryMessage`).
    private let libraryLogWindow = Mutex<(last: ContinuousClock.Instant?, skipped: Int)>((nil, 0))
    /// libmicrohttpd's logger record, read by its threads for the daemon's whole life (freed in deinit).
    private let libraryLogger = UnsafeMutablePointer<sockpit_mhd_logger>.allocate(capacity: 1)
    /// The two connection timeouts, read by libmicrohttpd's threads for the daemon's whole life (freed in deinit).
    let timeouts = UnsafeMutablePointer<sockpit_mhd_timeouts>.allocate(capacity: 1)

    init(configuration: HTTPServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    deinit {
        libraryLogger.deallocate()
        timeouts.deallocate()
    }

    /// A message of libmicrohttpd's own: a client that went away mid-response is routine (debug); anything
    /// else is worth a warning. Either way it is a logfmt line like every other, under --log-level.
    ///
    /// At most one line per second: a library that fails in a loop (accept meeting EMFILE) must not flood the log;
    /// the next line says how many were left out.
    func libraryMessage(_ text: String) {
        let message = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let now = ContinuousClock.now
        let skipped = libraryLogWindow.withLock { window -> Int? in
            if let last = window.last, now - last < .seconds(1) {
                window.skipped += 1
                return nil
            }
            defer { window = (now, 0) }
            return window.skipped
        }
        guard let skipped else { return }
        let routine = ["Failed to send", "forcibly closed", "Connection reset", "closed by remote peer", "timed out"]
            .contains { message.contains($0) }
        var metadata: Logger.Metadata = ["http.library": "libmicrohttpd"]
        if skipped > 0 { metadata["log.skipped"] = "\(skipped)" }
        logger.log(level: routine ? .debug : .warning, "\(message)", metadata: metadata)
    }

    func register(_ handler: @escaping RouteHandler, method: HTTPRequest.Method, path: String) throws {
        guard !started.load(ordering: .acquiring) else { throw HTTPServerError.alreadyStarted }
        try router.add(method: method, template: path, handler: handler)
    }

    func declare(lanes: [Lane]) throws {
        guard !started.load(ordering: .acquiring) else { throw HTTPServerError.alreadyStarted }
        try router.declare(lanes)
    }

    func start() throws {
        let missing = router.unregisteredLanes
        guard missing.isEmpty else { throw HTTPServerError.unregisteredLanes(missing.map { "\($0.method.rawValue) \($0.path)" }) }
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { throw HTTPServerError.alreadyStarted }
        let address = try ListenAddress(host: configuration.host, port: configuration.port)
        cors = try CORSPolicy(allowedOrigins: configuration.corsAllowedOrigins)
        browserGuard = BrowserGuard(allowedHosts: configuration.allowedHosts)
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
        if address.isIPv6 { flags |= MHD_USE_IPv6.rawValue }
        let cls = Unmanaged.passUnretained(self).toOpaque()
        libraryLogger.pointee = sockpit_mhd_logger(sink: libraryLogSink, cls: cls)
        timeouts.pointee = sockpit_mhd_timeouts(
            request: UInt32(min(configuration.requestTimeoutSeconds, configuration.connectionTimeoutSeconds)),
            idle: UInt32(configuration.connectionTimeoutSeconds), crowded: UInt32(configuration.crowdedConnections), daemon: nil)
        let handle = address.withSockAddr { sockaddr in
            sockpit_mhd_start(
                flags, sockaddr, accessHandlerCallback, cls, requestCompletedCallback, cls,
                UInt32(configuration.threads), UInt32(configuration.connectionLimit),
                UInt32(configuration.effectiveConnectionsPerClient), timeouts,
                64 << 10, libraryLogger)
        }
        guard let handle else {
            throw HTTPServerError.startFailed("cannot listen on \(address) (address in use, not local, or not permitted)")
        }
        sockpit_mhd_timeouts_started(timeouts, handle)
        boundPort = Int(sockpit_mhd_bound_port(handle))
        daemon.withLock { $0 = DaemonHandle(pointer: handle) }
        logger.info("HTTP server listening", metadata: ["http.address": "\(address.host)", "http.port": "\(boundPort)"])
    }

    func shutdown(gracePeriod: Duration, whenStopping: @Sendable () -> Void) async {
        guard started.load(ordering: .acquiring), !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: gracePeriod)
        whenStopping()
        let streamDeadline = clock.now.advanced(by: min(gracePeriod, .seconds(1)))
        while clock.now < streamDeadline, requests.all.contains(where: { $0.shared.withLock { $0.stream != nil } }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
        for stream in requests.all.compactMap({ $0.shared.withLock { $0.stream } }) {
            stream.finish()
        }
        while runningHandlers.load(ordering: .acquiring) > 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let unfinished = requests.all
        for context in unfinished where context.complete(with: TransportProblem.shuttingDown.response) {
            logger.warning("request cancelled by shutdown", metadata: ["http.method": "\(context.method)", "http.path": "\(context.path)"])
            MHD_resume_connection(context.connection.pointer)
        }
        // libmicrohttpd aborts if stopped with a suspended connection: let resumed ones finish first, and
        // answer any request that was suspended after the pass above.
        let drainDeadline = clock.now.advanced(by: .seconds(2))
        while !requests.isEmpty, clock.now < drainDeadline {
            for context in requests.all where context.complete(with: TransportProblem.shuttingDown.response) {
                MHD_resume_connection(context.connection.pointer)
            }
            for stream in requests.all.compactMap({ $0.shared.withLock { $0.stream } }) { stream.finish() }
            try? await Task.sleep(for: .milliseconds(5))
        }
        if let handle = daemon.withLock({ state in defer { state = nil }; return state }) {
            MHD_stop_daemon(handle.pointer)
        }
        logger.info("HTTP server stopped")
    }
}

/// Receives libmicrohttpd's formatted messages (see `sockpit_mhd_logger` in the shim).
private let libraryLogSink: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void = { cls, message in
    guard let cls, let message else { return }
    Unmanaged<TransportCore>.fromOpaque(cls).takeUnretainedValue().libraryMessage(String(cString: message))
}

/// The `MHD_Daemon*`, stopped in exactly one place (`TransportCore.shutdown`).
struct DaemonHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
