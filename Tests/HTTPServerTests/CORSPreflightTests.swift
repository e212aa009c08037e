import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// CORS preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`), answered by the transport
    /// before any handler runs.
    @Suite("CORS preflight")
    struct CORSPreflightTests {
        /// The dashboard origin the tests allow.
        static let dashboard = "http://dash.example:3000"

        /// A test configuration allowing `origins`.
        static func configuration(_ origins: [String] = [dashboard]) -> HTTPServerConfiguration {
            var configuration = HTTPServerConfiguration.testing()
            configuration.corsAllowedOrigins = origins
            return configuration
        }

        /// Item routes whose handlers count their calls, plus a literal health route.
        static func routes(_ calls: Counter) -> (MicroHTTPDTransport) throws -> Void {
            { transport in
                let counting: RouteHandler = { request, body, metadata in
                    calls.increment()
                    return try await describeRequest(request, body, metadata)
                }
                try transport.register(counting, method: .get, path: "/v1/items")
                try transport.register(counting, method: .get, path: "/v1/items/{id}")
                try transport.register(counting, method: .delete, path: "/v1/items/{id}")
                try transport.register({ _, _, _ in textResponse("ok") }, method: .get, path: "/healthz")
            }
        }

        /// The headers of a preflight from `origin` for `method`, asking for `headers` when given.
        static func preflight(_ origin: String, _ method: String, headers: String? = nil) -> [(String, String)] {
            [("Origin", origin), ("Access-Control-Request-Method", method)]
                + (headers.map { [("Access-Control-Request-Headers", $0)] } ?? [])
        }

        /// A comma-separated header value as a set of trimmed items.
        static func items(_ value: String?) -> Set<String>? {
            value.map { Set($0.split(separator: ",").map { String($0).trimmingSpaces }) }
        }

        @Test("a preflight from an allowed origin is answered 204 with the CORS headers, no handler runs, keep-alive holds")
        func preflightFromAllowedOriginIsAnswered204() async throws {
            let calls = Counter()
            try await withTestServer(configuration: Self.configuration(), routes: Self.routes(calls)) { server in
                let port = server.port
                let (preflight, next) = try await offload {
                    let connection = try HTTPConnection(port: port)
                    let preflight = try connection.request(
                        "OPTIONS", "/v1/items/5", headers: Self.preflight(Self.dashboard, "DELETE", headers: "authorization,content-type"))
                    return (preflight, try connection.request("GET", "/v1/items/5"))
                }
                #expect(preflight.status == 204)
                #expect(preflight.header("Access-Control-Allow-Origin") == Self.dashboard)
                #expect(Self.items(preflight.header("Access-Control-Allow-Methods")) == ["GET", "DELETE"])
                #expect(preflight.header("Access-Control-Allow-Headers") == "authorization, content-type")
                #expect(preflight.header("Access-Control-Max-Age") == "600")
                #expect(Self.items(preflight.header("Vary")) == ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"])
                #expect(preflight.header("Access-Control-Allow-Credentials") == nil)
                #expect(preflight.body.isEmpty)
                #expect(!preflight.head.closesConnection, "\(preflight.head.headers)")
                #expect(next.status == 200, "the connection serves the real request after the preflight")
                #expect(calls.value == 1, "only the real request reached a handler")
            }
        }

        @Test("a preflight approves only the requested headers that are on the safe list")
        func preflightApprovesOnlySafeRequestedHeaders() async throws {
            try await withTestServer(configuration: Self.configuration(), routes: Self.routes(Counter())) { server in
                let mixed = try await server.request(
                    "OPTIONS", "/v1/items", headers: Self.preflight(Self.dashboard, "GET", headers: "Authorization, X-Custom, last-event-id"))
                #expect(mixed.status == 204)
                #expect(mixed.header("Access-Control-Allow-Headers") == "authorization, last-event-id")

                let unsafe = try await server.request("OPTIONS", "/v1/items", headers: Self.preflight(Self.dashboard, "GET", headers: "x-custom"))
                #expect(unsafe.status == 204)
                #expect(unsafe.header("Access-Control-Allow-Headers") == nil)

                let none = try await server.request("OPTIONS", "/v1/items", headers: Self.preflight(Self.dashboard, "GET"))
                #expect(none.header("Access-Control-Allow-Headers") == nil)
            }
        }

        @Test("a preflight for a method the path lacks is still 204 but lists only the path's real methods")
        func preflightForAMissingMethodListsOnlyRealMethods() async throws {
            try await withTestServer(configuration: Self.configuration(), routes: Self.routes(Counter())) { server in
                let response = try await server.request("OPTIONS", "/v1/items", headers: Self.preflight(Self.dashboard, "PUT"))
                #expect(response.status == 204)
                #expect(response.header("Access-Control-Allow-Methods") == "GET")

                let literal = try await server.request("OPTIONS", "/healthz", headers: Self.preflight(Self.dashboard, "GET"))
                #expect(literal.status == 204)
                #expect(literal.header("Access-Control-Allow-Methods") == "GET", "literal routes count as the path's methods")
            }
        }

        @Test("a preflight for an unknown path gets the routed 404 problem, readable by the origin, without preflight headers")
        func preflightForUnknownPathIs404WithAllowOrigin() async throws {
            try await withTestServer(configuration: Self.configuration(), routes: Self.routes(Counter())) { server in
                let response = try await server.request("OPTIONS", "/v1/nothing", headers: Self.preflight(Self.dashboard, "GET"))
                #expect(response.status == 404)
                #expect(response.header("Content-Type") == "application/problem+json")
                #expect(response.header("Access-Control-Allow-Origin") == Self.dashboard)
                #expect(response.header("Access-Control-Allow-Methods") == nil)
                #expect(response.header("Access-Control-Max-Age") == nil)
            }
        }

        @Test("a preflight from an origin not in the list is refused 403 (problem+json), with no CORS header")
        func preflightFromOtherOriginGetsNoCORSHeaders() async throws {
            let calls = Counter()
            try await withTestServer(configuration: Self.configuration(), routes: Self.routes(calls)) { server in
                // Another host, another port, another scheme: each is another origin.
                for origin in ["http://evil.example", "http://dash.example:3001", "https://dash.example:3000", "null"] {
                    let response = try await server.request("OPTIONS", "/v1/items/5", headers: Self.preflight(origin, "DELETE"))
                    #expect(response.status == 403, "\(origin)")
                    #expect(response.header("Content-Type") == "application/problem+json")
                    #expect(response.text.contains("cross-origin"), "\(response.text)")
                    #expect(accessControlHeaders(response).isEmpty, "\(origin): \(response.head.headers)")
                }
                #expect(calls.value == 0)
            }
        }

        @Test("with '*' a preflight from any origin is answered, echoing that origin")
        func wildcardAllowsAnyOriginsPreflight() async throws {
            try await withTestServer(configuration: Self.configuration(["*"]), routes: Self.routes(Counter())) { server in
                let origin = "https://anything.test:8443"
                let response = try await server.request("OPTIONS", "/v1/items/1", headers: Self.preflight(origin, "GET"))
                #expect(response.status == 204)
                #expect(response.header("Access-Control-Allow-Origin") == origin)
            }
        }

        @Test("CORS is off by default: a preflight from a page of any other origin is refused 403, with no CORS header")
        func corsIsOffByDefaultForPreflights() async throws {
            try await withTestServer(routes: Self.routes(Counter())) { server in
                let response = try await server.request("OPTIONS", "/v1/items/5", headers: Self.preflight(Self.dashboard, "GET"))
                #expect(response.status == 403)
                #expect(accessControlHeaders(response).isEmpty)
                #expect(response.header("Vary") == nil)
            }
        }
    }
}

/// The response's `Access-Control-*` headers.
func accessControlHeaders(_ response: ResponseMessage) -> [HeaderField] {
    response.head.headers.filter { $0.name.lowercased().hasPrefix("access-control-") }
}
