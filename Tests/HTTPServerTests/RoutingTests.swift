import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// Matching of methods and OpenAPI path templates, and the 404/405 answers of the transport itself.
    @Suite("Routing")
    struct RoutingTests {
        /// Registers the small API most routing tests use.
        static func itemRoutes(_ transport: MicroHTTPDTransport) throws {
            try transport.register(describeRequest, method: .get, path: "/v1/health")
            try transport.register(describeRequest, method: .get, path: "/v1/items")
            try transport.register(describeRequest, method: .get, path: "/v1/items/{id}")
            try transport.register(describeRequest, method: .delete, path: "/v1/items/{id}")
            try transport.register(describeRequest, method: .post, path: "/v1/items/{id}/actions/{action}")
        }

        @Test("literal paths and templated paths reach their handlers with their parameters")
        func literalAndTemplatedPathsReachTheirHandlers() async throws {
            try await withTestServer(routes: Self.itemRoutes) { server in
                let health = try await server.request("GET", "/v1/health")
                #expect(health.status == 200)
                #expect(health.text == "GET\n/v1/health")

                let list = try await server.request("GET", "/v1/items")
                #expect(list.text == "GET\n/v1/items")

                let item = try await server.request("GET", "/v1/items/abc-1")
                #expect(item.text == "GET\n/v1/items/abc-1\nid=abc-1")

                let deleted = try await server.request("DELETE", "/v1/items/7")
                #expect(deleted.text == "DELETE\n/v1/items/7\nid=7")

                let action = try await server.request("POST", "/v1/items/9/actions/connect", body: [])
                #expect(action.status == 200)
                #expect(action.text == "POST\n/v1/items/9/actions/connect\naction=connect\nid=9")
            }
        }

        @Test("the query string is delivered in request.path and path parameters in metadata")
        func queryStringIsDeliveredInPathAndParametersInMetadata() async throws {
            try await withTestServer(routes: Self.itemRoutes) { server in
                let response = try await server.request("GET", "/v1/items/42?x=1&y=a%20b")
                #expect(response.status == 200)
                #expect(response.text == "GET\n/v1/items/42?x=1&y=a%20b\nid=42")
            }
        }

        @Test("percent-encoded path segments reach the handler still encoded, as one segment")
        func percentEncodedSegmentsStayEncoded() async throws {
            try await withTestServer(routes: Self.itemRoutes) { server in
                let response = try await server.request("GET", "/v1/items/a%2Fb%25c")
                #expect(response.status == 200)
                #expect(response.text == "GET\n/v1/items/a%2Fb%25c\nid=a%2Fb%25c")
            }
        }

        @Test("the query string reaches the handler byte for byte as sent ('+', bare keys, repeats, order)")
        func queryStringIsDeliveredAsSent() async throws {
            try await withTestServer(routes: Self.itemRoutes) { server in
                let target = "/v1/items?q=a+b&flag&q=c%2Bd&empty="
                let response = try await server.request("GET", target)
                #expect(response.status == 200)
                #expect(response.text == "GET\n\(target)")
            }
        }

        @Test("a literal path wins over a template that also matches, whatever the registration order")
        func literalPathWinsOverTemplate() async throws {
            let routes: (MicroHTTPDTransport) throws -> Void = { transport in
                try transport.register({ _, _, metadata in textResponse("template id=\(metadata.pathParameters["id"] ?? "")") },
                                       method: .get, path: "/v1/items/{id}")
                try transport.register({ _, _, _ in textResponse("literal") }, method: .get, path: "/v1/items/mine")
            }
            try await withTestServer(routes: routes) { server in
                let literal = try await server.request("GET", "/v1/items/mine")
                #expect(literal.text == "literal")
                let templated = try await server.request("GET", "/v1/items/other")
                #expect(templated.text == "template id=other")
            }
        }

        @Test("handler status and headers reach the client")
        func handlerStatusAndHeadersReachTheClient() async throws {
            let routes: (MicroHTTPDTransport) throws -> Void = { transport in
                try transport.register({ _, _, _ in
                    var response = HTTPResponse(status: .created)
                    response.headerFields[.location] = "/v1/items/99"
                    response.headerFields[HTTPField.Name("X-Item-Version")!] = "3"
                    return (response, nil)
                }, method: .post, path: "/v1/items")
            }
            try await withTestServer(routes: routes) { server in
                let response = try await server.request("POST", "/v1/items", body: Array("{}".utf8))
                #expect(response.status == 201)
                #expect(response.header("Location") == "/v1/items/99")
                #expect(response.header("X-Item-Version") == "3")
                #expect(response.body.isEmpty)
            }
        }

        @Test("request headers and the Host authority reach the handler")
        func requestHeadersReachTheHandler() async throws {
            let routes: (MicroHTTPDTransport) throws -> Void = { transport in
                try transport.register({ request, _, _ in
                    textResponse("\(request.authority ?? "<nil>") \(request.headerFields[HTTPField.Name("X-Trace")!] ?? "<nil>")")
                }, method: .get, path: "/v1/health")
            }
            try await withTestServer(routes: routes) { server in
                let response = try await server.request("GET", "/v1/health", headers: [("X-Trace", "abc 123")])
                #expect(response.text == "127.0.0.1 abc 123")
            }
        }

        @Test("an unknown path is answered 404 with a problem+json document")
        func unknownPathIsAnswered404ProblemJSON() async throws {
            try await withTestServer(routes: Self.itemRoutes) { server in
                for target in ["/v1/nothing", "/v1/items/1/2", "/", "/v2/health"] {
                    let response = try await server.request("GET", target)
                    #expect(response.status == 404, "\(target)")
                    #expect(response.header("Content-Type") == "application/problem+json", "\(target)")
                    let problem = try ProblemDocument(response)
                    #expect(problem.keys == ["type", "title", "status", "detail"], "\(target)")
                    #expect(problem.status == 404)
                    #expect(problem.string("type")?.isEmpty == false)
                    #expect(problem.string("title") == "Not Found")
                    #expect(problem.string("detail")?.isEmpty == false)
                }
            }
        }

        @Test("a known path with a wrong method is answered 405 with Allow listing the registered methods")
        func wrongMethodIsAnswered405WithAllow() async throws {
            try await withTestServer(routes: Self.itemRoutes) { server in
                let response = try await server.request("PUT", "/v1/items/5", body: Array("{}".utf8))
                #expect(response.status == 405)
                #expect(response.header("Content-Type") == "application/problem+json")
                let allow = response.header("Allow").map { Set($0.split(separator: ",").map { String($0).trimmingSpaces }) }
                #expect(allow == ["GET", "DELETE"])
                let problem = try ProblemDocument(response)
                #expect(problem.keys == ["type", "title", "status", "detail"])
                #expect(problem.status == 405)

                let onCollection = try await server.request("DELETE", "/v1/items")
                #expect(onCollection.status == 405)
                #expect(onCollection.header("Allow") == "GET")
            }
        }

        @Test("Allow names each method once when several templates match the path")
        func allowNamesEachMethodOnce() async throws {
            let routes: (MicroHTTPDTransport) throws -> Void = { transport in
                try transport.register(describeRequest, method: .get, path: "/v1/items/{id}")
                try transport.register(describeRequest, method: .get, path: "/v1/items/mine")
            }
            try await withTestServer(routes: routes) { server in
                let response = try await server.request("POST", "/v1/items/mine", body: [])
                #expect(response.status == 405)
                #expect(response.header("Allow") == "GET")
            }
        }

        @Test("registering the same method and template twice, or registering after start, is refused")
        func duplicateAndLateRegistrationsAreRefused() async throws {
            let transport = MicroHTTPDTransport(configuration: .testing(), logger: LogRecorder().logger)
            try transport.register(describeRequest, method: .get, path: "/v1/items/{id}")
            try transport.register(describeRequest, method: .delete, path: "/v1/items/{id}")
            #expect(throws: HTTPServerError.self) {
                try transport.register(describeRequest, method: .get, path: "/v1/items/{id}")
            }
            try await withTestServer(routes: Self.itemRoutes) { server in
                #expect(throws: HTTPServerError.self) {
                    try server.transport.register(describeRequest, method: .get, path: "/v1/late")
                }
            }
        }

        @Test("templates that differ only in parameter names are the same path, so a second registration is refused")
        func templatesDifferingOnlyInParameterNamesAreDuplicates() throws {
            // OpenAPI 3: "Templated paths with the same hierarchy but different templated names MUST NOT exist
            // as they are identical." Accepting both leaves the second handler unreachable.
            let transport = MicroHTTPDTransport(configuration: .testing(), logger: LogRecorder().logger)
            try transport.register(describeRequest, method: .get, path: "/v1/items/{id}")
            #expect(throws: HTTPServerError.self) {
                try transport.register(describeRequest, method: .get, path: "/v1/items/{name}")
            }
        }
    }
}
