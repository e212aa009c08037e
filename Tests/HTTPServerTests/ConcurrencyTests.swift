import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// Handlers run off libmicrohttpd's threads: a slow one holds no thread, and many clients are served at once.
    @Suite("Concurrency")
    struct ConcurrencyTests {
        @Test("a slow handler does not delay fast requests on other connections")
        func slowHandlerDoesNotDelayFastOnes() async throws {
            let slowStarted = Gate()
            let releaseSlow = Gate()
            defer { releaseSlow.open() }
            let slowAnswered = Counter()
            try await withTestServer(routes: { transport in
                try transport.register({ _, _, _ in
                    slowStarted.open()
                    try await releaseSlow.wait()
                    return textResponse("slow done")
                }, method: .get, path: "/v1/slow")
                try transport.register({ _, _, _ in textResponse("fast") }, method: .get, path: "/v1/fast")
            }) { server in
                let port = server.port
                async let slow = offload {
                    let response = try HTTPConnection(port: port).request("GET", "/v1/slow")
                    slowAnswered.increment()
                    return response
                }
                try await slowStarted.wait()

                // Twenty connections spread over both pool threads, one of which also holds the slow request.
                for index in 0..<20 {
                    let response = try await server.request("GET", "/v1/fast")
                    #expect(response.status == 200, "fast request \(index)")
                    #expect(response.text == "fast")
                }
                #expect(slowAnswered.value == 0, "the slow request is still pending while the fast ones completed")

                releaseSlow.open()
                let response = try await slow
                #expect(response.status == 200)
                #expect(response.text == "slow done")
            }
        }

        @Test("50 connections in parallel, 20 keep-alive requests each, complete without errors")
        func fiftyParallelConnectionsSucceed() async throws {
            try await withTestServer(routes: { transport in
                try transport.register({ request, _, metadata in
                    await Task.yield()
                    return textResponse("\(metadata.pathParameters["client"] ?? "")/\(metadata.pathParameters["n"] ?? "") \(request.path ?? "")")
                }, method: .get, path: "/v1/clients/{client}/requests/{n}")
            }) { server in
                let port = server.port
                let failures = try await withThrowingTaskGroup(of: [String].self) { group in
                    for client in 0..<50 {
                        group.addTask {
                            try await offload {
                                var failures: [String] = []
                                do {
                                    let connection = try HTTPConnection(port: port)
                                    for n in 0..<20 {
                                        let target = "/v1/clients/\(client)/requests/\(n)?k=\(n)"
                                        let response = try connection.request("GET", target)
                                        if response.status != 200 || response.text != "\(client)/\(n) \(target)" || response.head.closesConnection {
                                            failures.append("client \(client) request \(n): \(response.status) \(response.text)")
                                        }
                                    }
                                } catch {
                                    failures.append("client \(client): \(error)")
                                }
                                return failures
                            }
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(5))")
            }
        }
    }
}
