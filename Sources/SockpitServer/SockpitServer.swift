public import HTTPServer
public import Logging
public import SockpitAPI
public import SockpitCore

/// The wiring of the service: SockpitAPI's handlers onto HTTPServer's transport, in one place. `sockpit serve`
/// and every test harness call these same functions, so that the tests run exactly what production serves.
public enum SockpitServer {
    /// Every route of the API on `transport`: the generated server for every operation, and the ways the
    /// transport may answer some of them sooner (health on the daemon thread, socket operations started
    /// inline, reads from memory, direct decoding of the lifecycle's bodies). Each of those steps aside to the
    /// generated server for anything but the plain case, so validation, auth and problems have one source.
    public static func install(_ runtime: SockpitRuntime, on transport: MicroHTTPDTransport, token: String?,
                               logger: Logger) throws {
        let handler = APIHandler(runtime: runtime, logger: logger)
        try handler.register(on: transport, token: token)
        // Liveness polls are the hottest route and never wait: answer them on the daemon thread.
        try transport.registerImmediate(method: .get, path: "/v1/health") {
            let health = handler.immediateHealth()
            return ImmediateResponse(status: health.status, headers: [("Content-Type", health.contentType)], body: health.body)
        }
        // Socket operations start on the daemon thread, and continue on the pool once they wait (for a commit).
        for operation in APIHandler.inlineOperations { try transport.runInline(method: operation.method, path: operation.path) }
        // Reads served from memory skip the async bridge (nil falls back to the generated server).
        for route in handler.fastRoutes(token: token) {
            try transport.registerFastPath(method: route.method, path: route.path) { request in
                route.answer(.init(parameters: request.parameters, query: request.query, header: request.header))
                    .map { ImmediateResponse(status: $0.status, headers: [("Content-Type", $0.contentType)], body: $0.body) }
            }
        }
        for route in handler.directRoutes(token: token) {
            try transport.registerDirectPath(method: route.method, path: route.path) { request in
                await route.answer(.init(parameters: request.parameters, query: request.query, body: request.body, header: request.header))
                    .map { ImmediateResponse(status: $0.status, headers: $0.headers, body: $0.body) }
            }
        }
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
