import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// `maxRequestBodyBytes`: bodies over it are refused with 413 before any handler runs; bodies under it
    /// arrive intact.
    @Suite("Request body limit")
    struct RequestBodyLimitTests {
        /// An echo route that also counts how often its handler ran.
        static func countingEcho(_ calls: Counter) -> RouteHandler {
            { request, body, metadata in
                calls.increment()
                return try await echoBody(request, body, metadata)
            }
        }

        /// Checks a 413 problem+json answer.
        static func expectPayloadTooLarge(_ response: ResponseMessage, limit: Int) throws {
            #expect(response.status == 413)
            #expect(response.header("Content-Type") == "application/problem+json")
            let problem = try ProblemDocument(response)
            #expect(problem.keys == ["type", "title", "status", "detail"])
            #expect(problem.status == 413)
            #expect(problem.string("detail")?.contains("\(limit)") == true)
        }

        @Test("a Content-Length of 19 digits (under 2^64) is a body too large, not a malformed request")
        func hugeContentLengthIsAnswered413() async throws {
            let calls = Counter()
            try await withTestServer(routes: { try $0.register(Self.countingEcho(calls), method: .post, path: "/v1/upload") }) { server in
                let port = server.port
                let response = try await offload {
                    let connection = try HTTPConnection(port: port)
                    try connection.sendRequest("POST", "/v1/upload", headers: [("Content-Length", "1844674407370955161")])
                    return try connection.readResponse()
                }
                try Self.expectPayloadTooLarge(response, limit: 1 << 20)
                #expect(calls.value == 0)
            }
        }

        @Test("a 2 MiB body announced by Content-Length is answered 413 under the default 1 MiB limit")
        func twoMiBOverDefaultLimitIsAnswered413() async throws {
            let calls = Counter()
            let configuration = HTTPServerConfiguration.testing()
            #expect(configuration.maxRequestBodyBytes == 1 << 20)
            try await withTestServer(configuration: configuration,
                                     routes: { try $0.register(Self.countingEcho(calls), method: .post, path: "/v1/upload") }) { server in
                let port = server.port
                let (response, closed) = try await offload {
                    let connection = try HTTPConnection(port: port)
                    // Only the head: the server must answer from Content-Length alone, without the upload.
                    try connection.sendRequest("POST", "/v1/upload", headers: [("Content-Length", "\(2 << 20)")])
                    let response = try connection.readResponse()
                    return (response, try connection.waitForClose())
                }
                try Self.expectPayloadTooLarge(response, limit: 1 << 20)
                #expect(closed, "the connection is closed rather than left expecting 2 MiB")
                #expect(calls.value == 0)
            }
        }

        @Test("a configured small limit: exactly the limit is accepted, one byte more is answered 413")
        func smallConfiguredLimitIsEnforcedToTheByte() async throws {
            let calls = Counter()
            try await withTestServer(configuration: .testing(maxRequestBodyBytes: 1000),
                                     routes: { try $0.register(Self.countingEcho(calls), method: .post, path: "/v1/upload") }) { server in
                let atLimit = patternBytes(count: 1000)
                let accepted = try await server.request("POST", "/v1/upload", body: atLimit)
                #expect(accepted.status == 200)
                #expect(accepted.body == atLimit)

                let over = try await server.request("POST", "/v1/upload", body: patternBytes(count: 1001))
                try Self.expectPayloadTooLarge(over, limit: 1000)
                #expect(calls.value == 1)
            }
        }

        @Test("a chunked upload that grows past the limit is answered 413 without reaching the handler")
        func chunkedUploadOverLimitIsAnswered413() async throws {
            let calls = Counter()
            try await withTestServer(configuration: .testing(maxRequestBodyBytes: 1000),
                                     routes: { try $0.register(Self.countingEcho(calls), method: .post, path: "/v1/upload") }) { server in
                let port = server.port
                let response = try await offload {
                    let connection = try HTTPConnection(port: port)
                    try connection.sendRequest("POST", "/v1/upload", headers: [("Transfer-Encoding", "chunked")])
                    var body: [UInt8] = []
                    for index in 0..<4 {
                        body += Array("258\r\n".utf8) + patternBytes(count: 600, seed: UInt64(index)) + Array("\r\n".utf8)
                    }
                    try connection.send(body + Array("0\r\n\r\n".utf8))
                    return try connection.readResponse()
                }
                try Self.expectPayloadTooLarge(response, limit: 1000)
                #expect(calls.value == 0)
            }
        }

        @Test("a 512 KiB body under the limit reaches the handler byte for byte")
        func bodyUnderLimitArrivesIntact() async throws {
            try await withTestServer(routes: { try $0.register(echoBody, method: .post, path: "/v1/upload") }) { server in
                let sent = patternBytes(count: 512 << 10)
                let response = try await server.request("POST", "/v1/upload", body: sent)
                #expect(response.status == 200)
                #expect(response.header("Content-Length") == "\(512 << 10)")
                #expect(response.body.count == sent.count)
                #expect(response.body == sent)
            }
        }

        @Test("a chunked upload under the limit reaches the handler byte for byte")
        func chunkedBodyUnderLimitArrivesIntact() async throws {
            try await withTestServer(routes: { try $0.register(echoBody, method: .post, path: "/v1/upload") }) { server in
                let sent = patternBytes(count: 100_000)
                let port = server.port
                let response = try await offload {
                    let connection = try HTTPConnection(port: port)
                    try connection.sendRequest("POST", "/v1/upload", headers: [("Transfer-Encoding", "chunked")])
                    var offset = 0
                    while offset < sent.count {
                        let piece = sent[offset..<min(offset + 30_000, sent.count)]
                        try connection.send(Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10])
                        offset += piece.count
                    }
                    try connection.send("0\r\n\r\n")
                    return try connection.readResponse()
                }
                #expect(response.status == 200)
                #expect(response.body == sent)
            }
        }
    }
}
