import CMicroHTTPD
import Logging

/// What the transport reports about each finished request to `HTTPServerConfiguration.onRequestCompleted`:
/// enough for request metrics, without HTTPServer depending on a metrics library.
public struct HTTPRequestSummary: Sendable, Equatable {
    /// The request method as sent, e.g. "GET".
    public var method: String
    /// The matched OpenAPI path template (`/v1/sockets/{id}`) or immediate route path; nil when no route
    /// matched (404, or answered before routing: 413, 503). A bounded set, so fit for a metrics label.
    public var route: String?
    /// The status code sent; 0 when the client went away before any response was queued.
    public var status: Int
    /// From the first access-handler call (request headers received) to the completion notification.
    public var duration: Duration
    /// Whether libmicrohttpd reports the request completed normally (not cut off by an error, a timeout,
    /// the client going away, or shutdown).
    public var terminatedNormally: Bool

    /// Creates a summary.
    public init(method: String, route: String?, status: Int, duration: Duration, terminatedNormally: Bool) {
        self.method = method
        self.route = route
        self.status = status
        self.duration = duration
        self.terminatedNormally = terminatedNormally
    }
}

extension TransportCore {
    /// The completion notification (daemon thread): forget the request, report it to the observer, and write
    /// its access-log line.
    func completed(_ context: RequestContext, termination: MHD_RequestTerminationCode) {
        requests.remove(context)
        let logs = logger.logLevel <= .info && (context.phase != .receiving || context.status != 0)
        guard logs || configuration.onRequestCompleted != nil else { return }
        let elapsed = ContinuousClock.now - context.started
        let normal = termination == .REQUEST_TERMINATED_COMPLETED_OK
        configuration.onRequestCompleted?(HTTPRequestSummary(
            method: context.method, route: context.route, status: context.status, duration: elapsed, terminatedNormally: normal))
        guard logs else { return }
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "http.method": .string(context.method), "http.path": .string(context.path),
            "http.status": .string(String(context.status)), "http.duration_ms": .string((Double(Int(ms * 1000)) / 1000).description),
        ]
        if let route = context.route { metadata["http.route"] = .string(route) }
        if !normal { metadata["http.termination"] = "\(termination.rawValue)" }
        logger.info("\(context.method) \(context.path) \(context.status)", metadata: metadata)
    }
}
