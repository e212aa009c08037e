import Glibc
import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// `shutdown(gracePeriod:)`: new requests 503, in-flight ones get the grace period, streams end, and the
    /// port is closed afterwards.
    @Suite("Shutdown")
    struct ShutdownTests {
        /// A slow route that signals when its handler runs and waits for the test to release it, plus a fast one.
        static func routes(started: Gate, release: Gate) -> (MicroHTTPDTransport) throws -> Void {
            { transport in
                try transport.register({ _, _, _ in
                    started.open()
                    try await release.wait()
                    return textResponse("slow done")
                }, method: .get, path: "/v1/slow")
                try transport.register({ _, _, _ in textResponse("fast") }, method: .get, path: "/v1/fast")
            }
        }

        /// Checks the 503 problem document of a request refused or cancelled by shutdown.
        static func expectShuttingDown(_ response: ResponseMessage) throws {
            #expect(response.status == 503)
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.header("Retry-After") != nil)
            let problem = try ProblemDocument(response)
            #expect(problem.keys == ["type", "title", "status", "detail"])
            #expect(problem.status == 503)
        }

        @Test("an in-flight request finishes within the grace period while new requests get 503")
        func inFlightRequestFinishesWithinGrace() async throws {
            let started = Gate()
            let release = Gate()
            defer { release.open() }
            try await withTestServer(routes: Self.routes(started: started, release: release)) { server in
                let port = server.port
                async let slow = offload { try HTTPConnection(port: port).request("GET", "/v1/slow") }
                try await started.wait()

                let clock = ContinuousClock()
                let begun = clock.now
                let shutdown = Task { await server.transport.shutdown(gracePeriod: .seconds(20)) }

                // Shutdown has begun once a fresh request is refused; until then fresh requests are served.
                var probe = try await server.request("GET", "/v1/fast")
                for _ in 0..<10_000 where probe.status == 200 {
                    probe = try await server.request("GET", "/v1/fast")
                }
                try Self.expectShuttingDown(probe)

                release.open()
                let response = try await slow
                #expect(response.status == 200)
                #expect(response.text == "slow done")

                await shutdown.value
                let elapsed = clock.now - begun
                #expect(elapsed < .seconds(10), "shutdown took \(elapsed): it should end once the in-flight request is done")
                #expect(HTTPConnection.connectionError(port: port) == ECONNREFUSED)
            }
        }

        @Test("a request still pending when the grace period ends is answered 503")
        func requestPendingAfterGraceIsAnswered503() async throws {
            let started = Gate()
            let release = Gate()
            defer { release.open() }
            try await withTestServer(routes: Self.routes(started: started, release: release)) { server in
                let port = server.port
                async let slow = offload { try HTTPConnection(port: port).request("GET", "/v1/slow") }
                try await started.wait()

                await server.transport.shutdown(gracePeriod: .milliseconds(300))
                try Self.expectShuttingDown(try await slow)
                #expect(server.log.all.contains { $0.message.contains("cancelled by shutdown") })

                // The handler finishing after the daemon stopped must not touch the gone connection.
                release.open()
                #expect(HTTPConnection.connectionError(port: port) == ECONNREFUSED)
            }
        }

        @Test("after shutdown the port refuses connections, and idle keep-alive connections are closed")
        func portRefusesConnectionsAfterShutdown() async throws {
            try await withTestServer(routes: Self.routes(started: Gate(), release: Gate())) { server in
                let port = server.port
                let idle = try await offload {
                    let connection = try HTTPConnection(port: port)
                    _ = try connection.request("GET", "/v1/fast")
                    return connection
                }
                let clock = ContinuousClock()
                let begun = clock.now
                await server.transport.shutdown(gracePeriod: .seconds(20))
                let elapsed = clock.now - begun
                #expect(elapsed < .seconds(10), "an idle keep-alive connection must not hold shutdown (took \(elapsed))")
                #expect(try await offload { try idle.waitForClose() }, "the idle connection is closed by the server")
                #expect(HTTPConnection.connectionError(port: port) == ECONNREFUSED)
            }
        }

        @Test("shutdown ends a streaming response with its last chunk")
        func shutdownEndsAStreamingResponse() async throws {
            let producers = Mailbox<StreamingTests.Producer>()
            try await withTestServer(routes: StreamingTests.streamRoute(producers)) { server in
                let port = server.port
                let connection = try await offload {
                    let connection = try HTTPConnection(port: port)
                    try connection.sendRequest("GET", "/v1/stream")
                    return connection
                }
                let producer = try await producers.receive()
                defer { producer.finish() }
                producer.yield(ArraySlice("event 1\n".utf8))
                let first = try await offload { () -> [UInt8] in
                    _ = try connection.readHead()
                    return try StreamingTests.readBytes(8, from: connection)
                }
                #expect(first == Array("event 1\n".utf8))

                let clock = ContinuousClock()
                let begun = clock.now
                async let end = offload { try connection.readChunk() }
                await server.transport.shutdown(gracePeriod: .seconds(20))
                let elapsed = clock.now - begun
                #expect(try await end == nil, "the stream ends with the zero-size chunk")
                #expect(elapsed < .seconds(10), "an open stream must not hold shutdown for the grace period (took \(elapsed))")
                #expect(HTTPConnection.connectionError(port: port) == ECONNREFUSED)
            }
        }
    }
}
