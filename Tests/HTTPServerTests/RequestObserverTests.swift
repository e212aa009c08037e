import HTTPServer
import HTTPTypes
import Logging
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// `HTTPServerConfiguration.onRequestCompleted`: one summary per finished request, for metrics.
    @Suite("Request completion observer")
    struct RequestObserverTests {
        /// A test configuration whose observer posts every summary to `summaries` and counts it in `calls`.
        static func configuration(
            _ summaries: Mailbox<HTTPRequestSummary>, _ calls: Counter, cors origins: [String] = []
        ) -> HTTPServerConfiguration {
            var configuration = HTTPServerConfiguration.testing()
            configuration.corsAllowedOrigins = origins
            configuration.onRequestCompleted = { summary in
                calls.increment()
                summaries.post(summary)
            }
            return configuration
        }

        /// A templated route and a literal one.
        static func routes(_ transport: MicroHTTPDTransport) throws {
            try transport.register(describeRequest, method: .get, path: "/v1/items/{id}")
            try transport.register({ _, _, _ in textResponse("ok") }, method: .get, path: "/healthz")
        }

        /// Sends `requests` (method, target, headers) one after another on one connection; returns the statuses.
        static func send(_ requests: [(String, String, [(String, String)])], to server: TestServer) async throws -> [Int] {
            let port = server.port
            return try await offload {
                let connection = try HTTPConnection(port: port)
                return try requests.map { try connection.request($0.0, $0.1, headers: $0.2).status }
            }
        }

        /// Receives `count` summaries; requests on one connection complete in order, so these are in order too.
        static func receive(_ count: Int, from summaries: Mailbox<HTTPRequestSummary>) async throws -> [HTTPRequestSummary] {
            var received: [HTTPRequestSummary] = []
            for _ in 0..<count { received.append(try await summaries.receive()) }
            return received
        }

        @Test("the observer sees method, route template, status and duration of routed and unknown requests")
        func observerSeesRouteStatusAndDuration() async throws {
            let summaries = Mailbox<HTTPRequestSummary>()
            let calls = Counter()
            try await withTestServer(configuration: Self.configuration(summaries, calls), routes: Self.routes) { server in
                let statuses = try await Self.send(
                    [("GET", "/v1/items/7", []), ("GET", "/v1/nothing", []), ("GET", "/healthz", []), ("DELETE", "/v1/items/7", [])],
                    to: server)
                #expect(statuses == [200, 404, 200, 405])
                let received = try await Self.receive(4, from: summaries)
                #expect(received.map(\.method) == ["GET", "GET", "GET", "DELETE"])
                #expect(received.map(\.route) == ["/v1/items/{id}", nil, "/healthz", "/v1/items/{id}"])
                #expect(received.map(\.status) == [200, 404, 200, 405])
                #expect(received.allSatisfy { $0.duration > .zero })
                #expect(received.map(\.terminatedNormally) == [true, true, true, true])
            }
            #expect(calls.value == 4, "one summary per request, no more")
        }

        @Test("the observer is called even when the access log is off")
        func observerRunsWhateverTheLogLevel() async throws {
            let summaries = Mailbox<HTTPRequestSummary>()
            let calls = Counter()
            let log = try await withTestServer(configuration: Self.configuration(summaries, calls), logLevel: .error, routes: Self.routes) { server in
                _ = try await Self.send([("GET", "/v1/items/1", [])], to: server)
                let summary = try await summaries.receive()
                #expect(summary.route == "/v1/items/{id}")
                #expect(summary.status == 200)
                return server.log
            }
            // Checked after shutdown, when every completion callback has run.
            #expect(!log.all.contains { $0.message.hasPrefix("GET /v1/items/1") }, "no access-log line at .error")
        }

        @Test("a CORS preflight is reported with its route template and status 204")
        func preflightIsReportedWithItsRoute() async throws {
            let summaries = Mailbox<HTTPRequestSummary>()
            let calls = Counter()
            let origin = CORSPreflightTests.dashboard
            let configuration = Self.configuration(summaries, calls, cors: [origin])
            try await withTestServer(configuration: configuration, routes: Self.routes) { server in
                let statuses = try await Self.send(
                    [("OPTIONS", "/v1/items/7", CORSPreflightTests.preflight(origin, "GET"))], to: server)
                #expect(statuses == [204])
                let summary = try await summaries.receive()
                #expect(summary == HTTPRequestSummary(
                    method: "OPTIONS", route: "/v1/items/{id}", status: 204, duration: summary.duration, terminatedNormally: true))
            }
        }
    }
}
