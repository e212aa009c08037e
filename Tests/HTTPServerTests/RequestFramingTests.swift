import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// One way to read a request (issue 18): a request whose body two parsers could frame differently is answered
    /// 400 problem+json and its connection closed, so what follows it is never run as a request of its own.
    @Suite("Request framing")
    struct RequestFramingTests {
        static func routes(_ calls: Counter) -> (MicroHTTPDTransport) throws -> Void {
            { transport in
                try transport.register({ _, _, _ in
                    calls.increment()
                    return textResponse("done")
                }, method: .post, path: "/v1/things")
                try transport.register({ _, _, _ in
                    calls.increment()
                    return textResponse("deleted")
                }, method: .delete, path: "/v1/things/{id}")
            }
        }

        /// A second request hidden behind the first one's body.
        static let smuggled = "DELETE /v1/things/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

        @Test("Ambiguous framing is 400 and the connection closes; the smuggled request never runs", arguments: [
            "Content-Length: 5\r\nContent-Length: 54\r\n",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: xchunked\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
            "Transfer-Encoding : chunked\r\n",
            // Folded lines (obs-fold), which libmicrohttpd glues to the field's name: the body would be a request.
            "Content-Length:\r\n 5\r\n",
            "Transfer-Encoding:\r\n\tchunked\r\n",
            "X-Note: a\r\nHost:\r\n evil.example\r\n",
            "Host: evil.example\r\n",  // a second Host: only the first was checked
        ])
        func ambiguousFramingIsRefused(framing: String) async throws {
            let calls = Counter()
            try await withTestServer(routes: Self.routes(calls)) { server in
                let port = server.port
                let (status, text, closed) = try await offload {
                    let connection = try HTTPConnection(port: port)
                    defer { connection.close() }
                    try connection.send("POST /v1/things HTTP/1.1\r\nHost: 127.0.0.1\r\n" + framing + "\r\nhello" + Self.smuggled)
                    let response = try connection.readResponse(method: "POST")
                    return (response.head.status, response.text, try connection.waitForClose())
                }
                #expect(status == 400, "\(framing.debugDescription): \(text)")
                #expect(closed, "the connection is closed after the answer")
                #expect(calls.value == 0, "neither the request nor the smuggled one ran")
            }
        }

        @Test("Plain framings are served: one Content-Length (repeated with the same value), or chunked alone")
        func plainFramingIsServed() async throws {
            let calls = Counter()
            try await withTestServer(routes: Self.routes(calls)) { server in
                for framing in ["Content-Length: 5\r\n\r\nhello", "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
                                "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"] {
                    let port = server.port
                    let status = try await offload {
                        let connection = try HTTPConnection(port: port)
                        defer { connection.close() }
                        try connection.send("POST /v1/things HTTP/1.1\r\nHost: 127.0.0.1\r\n" + framing)
                        return try connection.readResponse(method: "POST").head.status
                    }
                    #expect(status == 200, "\(framing.debugDescription)")
                }
                #expect(calls.value == 3)
            }
        }
    }
}
