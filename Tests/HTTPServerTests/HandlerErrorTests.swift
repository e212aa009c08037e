import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// What clients see when a handler fails: a generic 500 problem, the details only in the server log.
    @Suite("Handler errors")
    struct HandlerErrorTests {
        /// An error whose description carries things no client may see.
        struct LeakyError: Error, CustomStringConvertible {
            /// Text with a password and a path, which must stay in the server log.
            var description: String { "LeakyError: password=hunter2 at /var/lib/sockpit/secret.db" }
        }

        /// Checks the generic 500 document, and that nothing of `LeakyError` is in it.
        static func expectGeneric500(_ response: ResponseMessage) throws {
            #expect(response.status == 500)
            #expect(response.header("Content-Type") == "application/problem+json")
            let problem = try ProblemDocument(response)
            #expect(problem.keys == ["type", "title", "status", "detail"])
            #expect(problem.status == 500)
            for secret in ["hunter2", "LeakyError", "/var/lib", "secret.db"] {
                #expect(!response.text.contains(secret), "response leaks '\(secret)': \(response.text)")
            }
        }

        @Test("a handler that throws is answered 500 problem+json without leaking the error")
        func throwingHandlerIsAnswered500WithoutInternals() async throws {
            try await withTestServer(routes: { transport in
                try transport.register({ _, _, _ in throw LeakyError() }, method: .get, path: "/v1/fail")
            }) { server in
                let response = try await server.request("GET", "/v1/fail")
                try Self.expectGeneric500(response)
                let logged = server.log.all.filter { $0.level >= .warning }
                #expect(logged.contains { $0.metadata.values.contains { $0.contains("hunter2") } },
                        "the details belong in the server log")
            }
        }

        @Test("a known-length response body that fails while being read is answered 500")
        func failingKnownLengthBodyIsAnswered500() async throws {
            try await withTestServer(routes: { transport in
                try transport.register({ _, _, _ in
                    let stream = AsyncThrowingStream<ArraySlice<UInt8>, any Error> { continuation in
                        continuation.yield(ArraySlice("partial".utf8))
                        continuation.finish(throwing: LeakyError())
                    }
                    return (HTTPResponse(status: .ok), HTTPBody(stream, length: .known(100)))
                }, method: .get, path: "/v1/fail")
            }) { server in
                try Self.expectGeneric500(try await server.request("GET", "/v1/fail"))
            }
        }
    }
}
