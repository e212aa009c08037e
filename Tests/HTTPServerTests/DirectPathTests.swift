import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Synchronization
import Testing

extension HTTPServerTransportTests {
    /// A direct path is tried in the operation's task before its handler: its answer is sent as given (status,
    /// headers, body), it may suspend, and when it answers nil the handler answers the same request, body and all.
    @Suite("Direct paths")
    struct DirectPathTests {
        /// Counts who answered what.
        final class Calls: Sendable {
            let handler = Atomic<Int>(0)
            let direct = Atomic<Int>(0)
        }

        static func routes(_ calls: Calls) -> (MicroHTTPDTransport) throws -> Void {
            { transport in
                try transport.register({ _, body, metadata in
                    calls.handler.add(1, ordering: .relaxed)
                    let bytes = try await [UInt8](collecting: body ?? HTTPBody(), upTo: 1 << 16)
                    return textResponse("handler \(metadata.pathParameters["id"] ?? "") " + String(decoding: bytes, as: UTF8.self))
                }, method: .post, path: "/v1/things/{id}/op")
                try transport.registerDirectPath(method: .post, path: "/v1/things/{id}/op") { request in
                    calls.direct.add(1, ordering: .relaxed)
                    let text = String(decoding: request.body, as: UTF8.self)
                    guard text.hasPrefix("direct") else { return nil }
                    if text.hasSuffix("wait") { try? await Task.sleep(for: .milliseconds(20)) }
                    let id = request.parameters["id"].map(String.init) ?? ""
                    return ImmediateResponse(
                        status: 201, headers: [("Content-Type", "text/plain"), ("Location", "/v1/things/\(id)")],
                        body: Array("direct \(id) \(request.query ?? "-") \(request.header("x-probe") ?? "-") \(text)".utf8))
                }
                try transport.runInline(method: .post, path: "/v1/things/{id}/op")
            }
        }

        @Test("The direct answer is sent as given, with the request's parameters, query, headers and body")
        func directAnswerIsSent() async throws {
            let calls = Calls()
            try await withTestServer(routes: Self.routes(calls)) { server in
                let port = server.port
                let (now, later) = try await offload {
                    let connection = try HTTPConnection(port: port)
                    return (try connection.request("POST", "/v1/things/7/op?q=1", headers: [("X-Probe", "yes")], body: Array("direct now".utf8)),
                            try connection.request("POST", "/v1/things/8/op", body: Array("direct wait".utf8)))
                }
                #expect(now.status == 201 && now.text == "direct 7 q=1 yes direct now")
                #expect(now.header("location") == "/v1/things/7" && now.header("content-type") == "text/plain")
                #expect(later.status == 201 && later.text == "direct 8 - - direct wait")
                #expect(!later.head.closesConnection)
                #expect(calls.direct.load(ordering: .relaxed) == 2 && calls.handler.load(ordering: .relaxed) == 0)
            }
        }

        @Test("A direct path that answers nil leaves the request, body included, to the handler")
        func nilFallsBackToTheHandler() async throws {
            let calls = Calls()
            try await withTestServer(routes: Self.routes(calls)) { server in
                let port = server.port
                let responses = try await offload {
                    let connection = try HTTPConnection(port: port)
                    return try (0..<3).map { try connection.request("POST", "/v1/things/\($0)/op", body: Array("other \($0)".utf8)) }
                }
                #expect(responses.map(\.status) == [200, 200, 200])
                #expect(responses.map(\.text) == (0..<3).map { "handler \($0) other \($0)" })
                #expect(calls.direct.load(ordering: .relaxed) == 3 && calls.handler.load(ordering: .relaxed) == 3)
            }
        }

        @Test("A direct path for an unregistered operation is refused")
        func directPathNeedsARoute() throws {
            let transport = MicroHTTPDTransport(configuration: .testing(), logger: LogRecorder().logger)
            #expect(throws: HTTPServerError.self) {
                try transport.registerDirectPath(method: .post, path: "/v1/none") { _ in nil }
            }
        }
    }
}
