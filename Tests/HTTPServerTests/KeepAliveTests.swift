import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// Persistent connections: libmicrohttpd 0.9.75 closes a connection whose response is queued on the
    /// first access-handler call (STYLE.md, Known pitfalls), so every kind of answer is checked here.
    @Suite("Keep-alive")
    struct KeepAliveTests {
        /// A handler route (GET) and an echo route (POST with a body).
        static func routes(_ transport: MicroHTTPDTransport) throws {
            try transport.register(describeRequest, method: .get, path: "/v1/items/{id}")
            try transport.register(echoBody, method: .post, path: "/v1/echo")
        }

        @Test("100 sequential requests over one TCP connection all succeed without Connection: close")
        func hundredSequentialRequestsShareOneConnection() async throws {
            try await withTestServer(routes: Self.routes) { server in
                let port = server.port
                let responses = try await offload {
                    let connection = try HTTPConnection(port: port)
                    return try (0..<100).map { index in
                        if index.isMultiple(of: 2) {
                            return try connection.request("GET", "/v1/items/\(index)")
                        }
                        return try connection.request("POST", "/v1/echo", body: Array("body \(index)".utf8))
                    }
                }
                #expect(responses.count == 100)
                for (index, response) in responses.enumerated() {
                    #expect(response.status == 200, "request \(index)")
                    #expect(!response.head.closesConnection, "request \(index): \(response.head.headers)")
                    let expected = index.isMultiple(of: 2) ? "GET\n/v1/items/\(index)\nid=\(index)" : "body \(index)"
                    #expect(response.text == expected, "request \(index)")
                }
            }
        }

        @Test("404, 405 and 500 answers keep the connection open for the next request")
        func transportAnswersKeepTheConnectionOpen() async throws {
            try await withTestServer(routes: { transport in
                try Self.routes(transport)
                try transport.register({ _, _, _ in throw CancellationError() }, method: .get, path: "/v1/fail")
            }) { server in
                let port = server.port
                let responses = try await offload {
                    let connection = try HTTPConnection(port: port)
                    return [
                        try connection.request("GET", "/v1/unknown"),
                        try connection.request("DELETE", "/v1/echo"),
                        try connection.request("GET", "/v1/fail"),
                        try connection.request("GET", "/v1/items/1"),
                    ]
                }
                #expect(responses.map(\.status) == [404, 405, 500, 200])
                for response in responses {
                    #expect(!response.head.closesConnection, "\(response.status): \(response.head.headers)")
                }
            }
        }

        @Test("pipelined requests are answered in order on one connection")
        func pipelinedRequestsAreAnsweredInOrder() async throws {
            try await withTestServer(routes: Self.routes) { server in
                let port = server.port
                let responses = try await offload {
                    let connection = try HTTPConnection(port: port)
                    var batch = ""
                    for index in 0..<10 { batch += "GET /v1/items/\(index) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" }
                    try connection.send(batch)
                    return try (0..<10).map { _ in try connection.readResponse() }
                }
                #expect(responses.map(\.text) == (0..<10).map { "GET\n/v1/items/\($0)\nid=\($0)" })
            }
        }
    }
}
