import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// CORS headers on actual responses: every kind of answer (handler, problem, streamed) gets them
    /// for an allowed origin, and none at all for any other.
    @Suite("CORS responses")
    struct CORSResponseTests {
        /// The dashboard origin the tests allow.
        static let dashboard = CORSPreflightTests.dashboard

        /// Item routes, a literal health route and a streamed route.
        static func routes(_ transport: MicroHTTPDTransport) throws {
            try transport.register(describeRequest, method: .get, path: "/v1/items")
            try transport.register(describeRequest, method: .get, path: "/v1/items/{id}")
            try transport.register({ _, _, _ in textResponse("ok") }, method: .get, path: "/healthz")
            try transport.register({ _, _, _ in
                let stream = AsyncStream<ArraySlice<UInt8>> { producer in
                    producer.yield(ArraySlice("streamed".utf8))
                    producer.finish()
                }
                return (HTTPResponse(status: .ok), HTTPBody(stream, length: .unknown))
            }, method: .get, path: "/v1/stream")
        }

        /// Checks the headers of an ordinary response to the allowed `origin`.
        static func expectCORS(_ response: ResponseMessage, origin: String = dashboard, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(response.header("Access-Control-Allow-Origin") == origin, sourceLocation: sourceLocation)
            #expect(response.header("Vary") == "Origin", sourceLocation: sourceLocation)
            let exposed = CORSPreflightTests.items(response.header("Access-Control-Expose-Headers"))
            #expect(exposed == ["Location", "Retry-After", "Allow", "Content-Type"], sourceLocation: sourceLocation)
            #expect(response.header("Access-Control-Allow-Credentials") == nil, sourceLocation: sourceLocation)
            #expect(response.header("Access-Control-Allow-Methods") == nil, sourceLocation: sourceLocation)
        }

        @Test("a GET from an allowed origin gets Allow-Origin (echoed), Vary: Origin and Expose-Headers")
        func simpleRequestFromAllowedOriginGetsCORSHeaders() async throws {
            try await withTestServer(configuration: CORSPreflightTests.configuration(), routes: Self.routes) { server in
                let response = try await server.request("GET", "/v1/items/3", headers: [("Origin", Self.dashboard)])
                #expect(response.status == 200)
                #expect(response.text == "GET\n/v1/items/3\nid=3")
                Self.expectCORS(response)

                let literal = try await server.request("GET", "/healthz", headers: [("Origin", Self.dashboard)])
                #expect(literal.text == "ok")
                Self.expectCORS(literal)
            }
        }

        @Test("origins match case-insensitively on scheme and host, with a default port the same as none")
        func originsMatchCaseInsensitivelyOnSchemeAndHost() async throws {
            let configuration = CORSPreflightTests.configuration([Self.dashboard, "https://console.example/"])
            try await withTestServer(configuration: configuration, routes: Self.routes) { server in
                for origin in ["HTTP://Dash.EXAMPLE:3000", "https://console.example", "https://console.example:443"] {
                    let response = try await server.request("GET", "/v1/items", headers: [("Origin", origin)])
                    Self.expectCORS(response, origin: origin)
                }
            }
        }

        @Test("a request from an origin not in the list is refused 403, with no Access-Control-* header")
        func requestFromOtherOriginGetsNoCORSHeaders() async throws {
            try await withTestServer(configuration: CORSPreflightTests.configuration(), routes: Self.routes) { server in
                for origin in ["http://dash.example:3001", "http://dash.example", "http://evil.example:3000"] {
                    let response = try await server.request("GET", "/v1/items", headers: [("Origin", origin)])
                    #expect(response.status == 403)
                    #expect(accessControlHeaders(response).isEmpty, "\(origin): \(response.head.headers)")
                    // The answer still depends on Origin, so caches are told so.
                    #expect(response.header("Vary") == "Origin")
                }
                let noOrigin = try await server.request("GET", "/v1/items")
                #expect(accessControlHeaders(noOrigin).isEmpty)
            }
        }

        @Test("with '*' any origin is allowed and echoed")
        func wildcardAllowsAnyOrigin() async throws {
            try await withTestServer(configuration: CORSPreflightTests.configuration(["*"]), routes: Self.routes) { server in
                for origin in ["http://a.test", "https://b.test:8443", "http://[::1]:3000"] {
                    let response = try await server.request("GET", "/v1/items", headers: [("Origin", origin)])
                    Self.expectCORS(response, origin: origin)
                }
            }
        }

        @Test("CORS is off by default: a page of another origin is refused 403; the server's own origin is served")
        func corsIsOffByDefault() async throws {
            try await withTestServer(routes: Self.routes) { server in
                let response = try await server.request("GET", "/v1/items", headers: [("Origin", Self.dashboard)])
                #expect(response.status == 403)
                #expect(accessControlHeaders(response).isEmpty)
                #expect(response.header("Vary") == nil)
                let own = "http://127.0.0.1:\(server.port)"
                let same = try await server.request("GET", "/v1/items", headers: [("Host", "127.0.0.1:\(server.port)"), ("Origin", own)])
                #expect(same.status == 200, "a page served by this server itself")
                #expect(accessControlHeaders(same).isEmpty)
            }
        }

        @Test("problem responses (404, 405) to an allowed origin carry the CORS headers")
        func problemResponsesCarryCORSHeaders() async throws {
            try await withTestServer(configuration: CORSPreflightTests.configuration(), routes: Self.routes) { server in
                let notFound = try await server.request("GET", "/v1/nothing", headers: [("Origin", Self.dashboard)])
                #expect(notFound.status == 404)
                #expect(notFound.header("Content-Type") == "application/problem+json")
                Self.expectCORS(notFound)

                let notAllowed = try await server.request("DELETE", "/v1/items", headers: [("Origin", Self.dashboard)])
                #expect(notAllowed.status == 405)
                #expect(notAllowed.header("Allow") == "GET")
                Self.expectCORS(notAllowed)
            }
        }

        @Test("a streamed (chunked) response to an allowed origin carries the CORS headers")
        func streamedResponseCarriesCORSHeaders() async throws {
            try await withTestServer(configuration: CORSPreflightTests.configuration(), routes: Self.routes) { server in
                let response = try await server.request("GET", "/v1/stream", headers: [("Origin", Self.dashboard)])
                #expect(response.status == 200)
                #expect(response.head.isChunked)
                #expect(response.text == "streamed")
                Self.expectCORS(response)
            }
        }

        @Test("an allowed-origin entry that is not an origin makes start() throw")
        func invalidOriginEntryIsRefusedAtStart() throws {
            for entry in ["dash.example", "http://dash.example/app", "http://dash.example:port", "*.example"] {
                let transport = MicroHTTPDTransport(configuration: CORSPreflightTests.configuration([entry]), logger: LogRecorder().logger)
                #expect(throws: HTTPServerError.self, "\(entry)") { try transport.start() }
            }
        }
    }
}
