public import HTTPServer
public import Logging
import SockpitAPI
public import SockpitCore

/// The wiring of the service: SockpitAPI's handlers onto HTTPServer's transport, in one place. `sockpit serve`
/// and every test harness call these same functions, so that the tests run exactly what production serves.
public enum SockpitServer {
    /// Every operation of the API on `transport`, each started where `lanes` says, through the generated
    /// server: one way for every request, so validation, auth, problems and encoding have one source.
    public static func install(_ runtime: SockpitRuntime, on transport: MicroHTTPDTransport, token: String?,
                               logger: Logger) throws {
        try transport.declare(lanes: lanes)
        try APIOperations.register(runtime, on: transport, token: token, logger: logger)
    }

    /// The transport's per-request observer that feeds the request metrics of `runtime` (`/metrics`).
    public static func requestMetrics(_ runtime: SockpitRuntime) -> @Sendable (HTTPRequestSummary) -> Void {
        let metrics = runtime.metrics
        return { request in
            guard request.status != 0 else { return }  // the client left before an answer: nothing to time
            metrics.recordRequest(route: request.route ?? "unmatched", method: request.method, status: request.status,
                                  duration: request.duration)
        }
    }
}
