import Glibc
import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// Response bodies of unknown length: sent chunked as the handler's stream produces them.
    @Suite("Streamed responses")
    struct StreamingTests {
        /// What a streaming handler hands to the test so the test decides when each piece is produced.
        typealias Producer = AsyncStream<ArraySlice<UInt8>>.Continuation

        /// A route whose handler streams whatever the test yields into the producer it posts to `producers`.
        static func streamRoute(_ producers: Mailbox<Producer>) -> (MicroHTTPDTransport) throws -> Void {
            { transport in
                try transport.register({ _, _, _ in
                    let (stream, producer) = AsyncStream<ArraySlice<UInt8>>.makeStream()
                    producers.post(producer)
                    var response = HTTPResponse(status: .ok)
                    response.headerFields[.contentType] = "application/octet-stream"
                    return (response, HTTPBody(stream, length: .unknown))
                }, method: .get, path: "/v1/stream")
                try transport.register(describeRequest, method: .get, path: "/v1/items/{id}")
            }
        }

        /// Reads chunks until `count` bytes have arrived (the transport may merge or split what was yielded).
        static func readBytes(_ count: Int, from connection: HTTPConnection) throws -> [UInt8] {
            var received: [UInt8] = []
            while received.count < count {
                guard let chunk = try connection.readChunk() else { throw HTTPClientError.malformed("stream ended early") }
                received += chunk
            }
            return received
        }

        @Test("a streamed body arrives chunked, each piece as the handler yields it, in order")
        func streamedBodyArrivesChunkedInOrder() async throws {
            let producers = Mailbox<Producer>()
            try await withTestServer(routes: Self.streamRoute(producers)) { server in
                let port = server.port
                let connection = try await offload {
                    let connection = try HTTPConnection(port: port)
                    try connection.sendRequest("GET", "/v1/stream")
                    return connection
                }
                let producer = try await producers.receive()
                let pieces = (1...3).map { patternBytes(count: 700, seed: UInt64($0)) }

                producer.yield(pieces[0][...])
                let (head, first) = try await offload { (try connection.readHead(), try Self.readBytes(700, from: connection)) }
                #expect(head.status == 200)
                #expect(head.isChunked)
                #expect(head.value(of: "Content-Length") == nil)
                #expect(head.value(of: "Content-Type") == "application/octet-stream")
                #expect(first == pieces[0])

                // Each later piece is yielded only after the previous one was read, so it can only arrive if
                // the transport forwards data while the stream is still open.
                for piece in pieces.dropFirst() {
                    producer.yield(piece[...])
                    let received = try await offload { try Self.readBytes(700, from: connection) }
                    #expect(received == piece)
                }
                producer.finish()
                let end = try await offload { try connection.readChunk() }
                #expect(end == nil, "the last chunk ends the body")

                let next = try await offload { try connection.request("GET", "/v1/items/1") }
                #expect(next.status == 200, "the connection stays usable after the stream")
                #expect(!head.closesConnection)
            }
        }

        @Test("a stream waiting for data does not spin the CPU")
        func idleStreamDoesNotSpinTheCPU() async throws {
            let producers = Mailbox<Producer>()
            try await withTestServer(routes: Self.streamRoute(producers)) { server in
                #expect(!server.daemonThreads.isEmpty, "libmicrohttpd's threads were found")
                let port = server.port
                let connection = try await offload {
                    let connection = try HTTPConnection(port: port)
                    try connection.sendRequest("GET", "/v1/stream")
                    return connection
                }
                let producer = try await producers.receive()
                producer.yield(ArraySlice("first".utf8))
                let first = try await offload { () -> [UInt8] in
                    _ = try connection.readHead()
                    return try Self.readBytes(5, from: connection)
                }
                #expect(first == Array("first".utf8))

                // The stream now has nothing to send. A content reader that returns 0 without suspending
                // the connection keeps one libmicrohttpd thread at 100 %: ~1 s of CPU in this window.
                let before = ThreadCPU.cpuTime(of: server.daemonThreads)
                try await Task.sleep(for: .seconds(1))
                let used = ThreadCPU.cpuTime(of: server.daemonThreads) - before
                #expect(used < .milliseconds(200), "libmicrohttpd threads used \(used) of CPU in 1 s of an idle stream")

                producer.yield(ArraySlice("second".utf8))
                let second = try await offload { try Self.readBytes(6, from: connection) }
                #expect(second == Array("second".utf8), "the stream wakes up when data arrives")
                producer.finish()
                let end = try await offload { try connection.readChunk() }
                #expect(end == nil)
            }
        }

        @Test("a client that disconnects from a stream ends the handler's producer")
        func clientDisconnectEndsTheProducer() async throws {
            let producers = Mailbox<Producer>()
            let terminated = Gate()
            try await withTestServer(routes: Self.streamRoute(producers)) { server in
                let port = server.port
                let connection = try await offload {
                    let connection = try HTTPConnection(port: port)
                    try connection.sendRequest("GET", "/v1/stream")
                    return connection
                }
                let producer = try await producers.receive()
                producer.onTermination = { _ in terminated.open() }
                producer.yield(ArraySlice("first".utf8))
                _ = try await offload { () -> [UInt8] in
                    _ = try connection.readHead()
                    return try Self.readBytes(5, from: connection)
                }
                connection.close()
                // A suspended stream's socket is not watched (STYLE.md: dead streams are found by heartbeats): each
                // heartbeat resumes it, and a write after the client's reset makes libmicrohttpd drop the
                // connection, destroy the response and cancel the producer. The test waits on that event.
                let heartbeats = Task {
                    while !Task.isCancelled {
                        producer.yield(ArraySlice(": heartbeat\n".utf8))
                        try? await Task.sleep(for: .milliseconds(10))
                    }
                }
                defer { heartbeats.cancel() }
                try await terminated.wait()
                #expect(terminated.isOpen)
            }
        }

        @Test("a 4 MiB streamed body larger than the stream buffer arrives intact")
        func largeStreamedBodyArrivesIntact() async throws {
            let total = 4 << 20
            let expected = patternBytes(count: total)
            try await withTestServer(configuration: .testing(streamBufferBytes: 64 << 10), routes: { transport in
                try transport.register({ _, _, _ in
                    let (stream, producer) = AsyncStream<ArraySlice<UInt8>>.makeStream(bufferingPolicy: .unbounded)
                    var offset = 0
                    while offset < total {
                        producer.yield(expected[offset..<min(offset + 50_000, total)])
                        offset += 50_000
                    }
                    producer.finish()
                    return (HTTPResponse(status: .ok), HTTPBody(stream, length: .unknown))
                }, method: .get, path: "/v1/stream")
            }) { server in
                let response = try await server.request("GET", "/v1/stream")
                #expect(response.status == 200)
                #expect(response.head.isChunked)
                #expect(response.body.count == total)
                #expect(response.body == expected)
            }
        }

        @Test("a streamed body whose source fails is cut off, not ended as if complete")
        func failingStreamIsCutOffNotCompleted() async throws {
            let producers = Mailbox<AsyncThrowingStream<ArraySlice<UInt8>, any Error>.Continuation>()
            try await withTestServer(routes: { transport in
                try transport.register({ _, _, _ in
                    let (stream, producer) = AsyncThrowingStream<ArraySlice<UInt8>, any Error>.makeStream()
                    producers.post(producer)
                    return (HTTPResponse(status: .ok), HTTPBody(stream, length: .unknown))
                }, method: .get, path: "/v1/stream")
            }) { server in
                let port = server.port
                let connection = try await offload {
                    let connection = try HTTPConnection(port: port)
                    try connection.sendRequest("GET", "/v1/stream")
                    return connection
                }
                let producer = try await producers.receive()
                producer.yield(ArraySlice("partial".utf8))
                let head = try await offload { () -> ResponseHead in
                    let head = try connection.readHead()
                    _ = try Self.readBytes(7, from: connection)
                    return head
                }
                #expect(head.status == 200)

                struct SourceFailed: Error {}
                producer.finish(throwing: SourceFailed())
                // With chunked coding the only way to tell the client that the body is incomplete is to close
                // the connection without the terminating zero-size chunk.
                let outcome = try await offload { () -> String in
                    do {
                        return try connection.readChunk() == nil ? "ended with the last chunk, as if complete" : "more data"
                    } catch HTTPClientError.closedByPeer {
                        return "cut off"
                    } catch HTTPClientError.syscall(_, let code) where code == ECONNRESET {
                        return "cut off"
                    }
                }
                #expect(outcome == "cut off")
            }
        }
    }
}
