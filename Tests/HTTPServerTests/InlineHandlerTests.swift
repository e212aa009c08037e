import Glibc
import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Synchronization
import Testing

extension HTTPServerTransportTests {
    /// Routes marked `runInline` start their handler on the daemon thread that read the request: answered there
    /// when the handler never suspends, continued on the task pool when it does; other routes never run there.
    @Suite("Inline handlers")
    struct InlineHandlerTests {
        /// The kernel thread id of the caller (`/proc/thread-self` links to `PID/task/TID`).
        static func threadID() -> Int32 {
            var buffer = [CChar](repeating: 0, count: 64)
            let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
            guard count > 0 else { return -1 }
            let link = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return link.split(separator: "/").last.flatMap { Int32($0) } ?? -1
        }

        /// Where each handler ran: before and after its suspension point.
        final class Threads: Sendable {
            let seen = Mutex<[String: [Int32]]>([:])
            func note(_ key: String) { seen.withLock { $0[key, default: []].append(InlineHandlerTests.threadID()) } }
            func of(_ key: String) -> [Int32] { seen.withLock { $0[key] ?? [] } }
        }

        static func routes(_ threads: Threads) -> (MicroHTTPDTransport) throws -> Void {
            { transport in
                try transport.declare(lanes: [
                    Lane(.get, "/v1/quick/{n}", .daemonThread), Lane(.post, "/v1/waits", .daemonThread),
                    Lane(.get, "/v1/pooled", .taskPool),
                ])
                try transport.register({ request, _, _ in
                    threads.note("quick")
                    return textResponse("quick \(request.path ?? "")")
                }, method: .get, path: "/v1/quick/{n}")
                try transport.register({ _, body, _ in
                    threads.note("waits.before")
                    let bytes = try await [UInt8](collecting: body ?? HTTPBody(), upTo: 1 << 16)
                    try await Task.sleep(for: .milliseconds(30))
                    threads.note("waits.after")
                    return textResponse("waited " + String(decoding: bytes, as: UTF8.self))
                }, method: .post, path: "/v1/waits")
                try transport.register({ _, _, _ in
                    threads.note("pooled")
                    return textResponse("pooled")
                }, method: .get, path: "/v1/pooled")
            }
        }

        @Test("A handler that never suspends runs on a daemon thread and is answered there; keep-alive holds")
        func quickHandlerIsAnsweredOnTheDaemonThread() async throws {
            let threads = Threads()
            try await withTestServer(routes: Self.routes(threads)) { server in
                let port = server.port
                let responses = try await offload {
                    let connection = try HTTPConnection(port: port)
                    return try (0..<50).map { try connection.request("GET", "/v1/quick/\($0)") }
                }
                for (index, response) in responses.enumerated() {
                    #expect(response.status == 200 && response.text == "quick /v1/quick/\(index)")
                    #expect(!response.head.closesConnection, "request \(index): \(response.head.headers)")
                }
                let ran = Set(threads.of("quick"))
                #expect(threads.of("quick").count == 50)
                #expect(ran.isSubset(of: server.daemonThreads), "ran on \(ran), daemon threads \(server.daemonThreads)")
            }
        }

        @Test("A handler that suspends starts on the daemon thread, finishes on the pool, and is answered")
        func suspendingHandlerContinuesOffTheDaemonThread() async throws {
            let threads = Threads()
            try await withTestServer(routes: Self.routes(threads)) { server in
                let port = server.port
                let responses = try await offload {
                    let connection = try HTTPConnection(port: port)
                    return try (0..<5).map { try connection.request("POST", "/v1/waits", body: Array("body \($0)".utf8)) }
                }
                #expect(responses.map(\.text) == (0..<5).map { "waited body \($0)" })
                #expect(responses.allSatisfy { $0.status == 200 && !$0.head.closesConnection })
                #expect(Set(threads.of("waits.before")).isSubset(of: server.daemonThreads))
                #expect(Set(threads.of("waits.after")).isDisjoint(with: server.daemonThreads))
            }
        }

        @Test("While an inline handler waits, the daemon threads keep answering other requests")
        func waitingInlineHandlerDoesNotHoldTheDaemonThread() async throws {
            let threads = Threads()
            try await withTestServer(routes: Self.routes(threads)) { server in
                let port = server.port
                // Ten waits in flight at once, each on its own connection, then quick requests beside them: every
                // quick answer arrives while the waits are still pending (they hold no daemon thread).
                async let waits = withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<10 {
                        group.addTask {
                            try await offload {
                                let connection = try HTTPConnection(port: port)
                                return try connection.request("POST", "/v1/waits", body: Array("\(index)".utf8)).status
                            }
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                while threads.of("waits.before").count < 10 { try await Task.sleep(for: .milliseconds(1)) }
                let quick = try await server.request("GET", "/v1/quick/1")
                let pendingWhenAnswered = 10 - threads.of("waits.after").count
                #expect(quick.status == 200)
                #expect(pendingWhenAnswered > 0, "the quick request was answered while waits were still pending")
                #expect(try await waits == Array(repeating: 200, count: 10))
            }
        }

        @Test("A route not marked inline never runs on a daemon thread")
        func unmarkedRouteRunsOnThePool() async throws {
            let threads = Threads()
            try await withTestServer(routes: Self.routes(threads)) { server in
                for _ in 0..<10 {
                    let response = try await server.request("GET", "/v1/pooled")
                    #expect(response.status == 200)
                }
                #expect(Set(threads.of("pooled")).isDisjoint(with: server.daemonThreads))
            }
        }

        @Test("Once lanes are declared, an operation without one is refused, and so is a lane without an operation")
        func undeclaredAndUnregisteredLanesAreRefused() async throws {
            let transport = MicroHTTPDTransport(configuration: .testing(), logger: LogRecorder().logger)
            try transport.declare(lanes: [Lane(.get, "/v1/things/{id}", .daemonThread), Lane(.get, "/v1/never", .taskPool)])
            // The same shape under another parameter name is the declared operation.
            try transport.register({ _, _, _ in textResponse("thing") }, method: .get, path: "/v1/things/{name}")
            #expect {
                try transport.register({ _, _, _ in textResponse("other") }, method: .get, path: "/v1/other")
            } throws: { error in
                (error as? HTTPServerError)?.description == "route GET /v1/other is not in the declared lanes"
            }
            #expect {
                try transport.start()
            } throws: { error in
                (error as? HTTPServerError)?.description == "declared lanes without a registered route: GET /v1/never"
            }
        }

        @Test("The same operation declared twice is refused")
        func duplicateLaneIsRefused() async throws {
            let transport = MicroHTTPDTransport(configuration: .testing(), logger: LogRecorder().logger)
            #expect(throws: HTTPServerError.self) {
                try transport.declare(lanes: [Lane(.get, "/v1/a/{id}", .daemonThread), Lane(.get, "/v1/a/{x}", .taskPool)])
            }
        }
    }
}
