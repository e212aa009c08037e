import HTTPServer
import HTTPTypes
import OpenAPIRuntime
import Testing

extension HTTPServerTransportTests {
    /// Idle connections from one address cannot lock everyone out (issue 18): past its per-client cap a client
    /// is disconnected at once, and a client from another address is still answered.
    @Suite("Connection fairness")
    struct ConnectionFairnessTests {
        static func routes(_ transport: MicroHTTPDTransport) throws {
            try transport.register({ _, _, _ in textResponse("ok") }, method: .get, path: "/v1/items")
        }

        @Test("Past 8 idle connections from 127.0.0.1, the next is closed unanswered; 127.0.0.2 is still served")
        func oneAddressCannotTakeEverySlot() async throws {
            let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, connectionLimit: 32, connectionsPerClient: 8)
            try await withTestServer(configuration: configuration, routes: Self.routes) { server in
                let port = server.port
                let (refused, other) = try await offload {
                    // 8 idle connections that never send a request: the cap of 127.0.0.1.
                    let idle = try (0..<8).map { _ in try HTTPConnection(port: port, timeout: .seconds(5)) }
                    defer { idle.forEach { $0.close() } }
                    // Each was accepted before the next: one request on the last proves the daemon saw them all.
                    let answered = try idle[7].request("GET", "/v1/items")
                    precondition(answered.head.status == 200)
                    let extra = try HTTPConnection(port: port, timeout: .seconds(5))
                    defer { extra.close() }
                    let closed = (try? extra.request("GET", "/v1/items")) == nil
                    let fromOther = try HTTPConnection(port: port, timeout: .seconds(5), source: 2)
                    defer { fromOther.close() }
                    return (closed, try fromOther.request("GET", "/v1/items").head.status)
                }
                #expect(refused, "a ninth connection from the same address is closed")
                #expect(other == 200, "another address is served")
            }
        }

        @Test("A connection silent before a whole request is closed after the request timeout; one that sent a request is not")
        func silentConnectionsAreClosedSooner() async throws {
            let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, connectionTimeoutSeconds: 60, requestTimeoutSeconds: 1)
            try await withTestServer(configuration: configuration, routes: Self.routes) { server in
                let port = server.port
                let (silentClosed, partialClosed, keptStatus, elapsed) = try await offload {
                    let started = ContinuousClock.now
                    let kept = try HTTPConnection(port: port, timeout: .seconds(30))
                    defer { kept.close() }
                    let first = try kept.request("GET", "/v1/items").head.status
                    precondition(first == 200)
                    let silent = try HTTPConnection(port: port, timeout: .seconds(30))
                    defer { silent.close() }
                    let partial = try HTTPConnection(port: port, timeout: .seconds(30))
                    defer { partial.close() }
                    try partial.send("GET /v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\n")  // no blank line: never complete
                    let silentClosed = try silent.waitForClose()
                    let partialClosed = try partial.waitForClose()
                    let elapsed = ContinuousClock.now - started
                    // The keep-alive connection is as old as the two that were closed, and still served.
                    return (silentClosed, partialClosed, try kept.request("GET", "/v1/items").head.status, elapsed)
                }
                #expect(silentClosed, "a connection that sends nothing is closed")
                #expect(partialClosed, "a connection that stalls mid-request is closed")
                #expect(elapsed < .seconds(20), "closed after the 1 s request timeout, not the 60 s idle one (took \(elapsed))")
                #expect(keptStatus == 200, "a connection that sent a whole request keeps the idle timeout")
            }
        }

        @Test("Near the connection limit, keep-alive connections idle only the request timeout, freeing slots for new clients")
        func crowdedServerShedsIdleConnectionsSooner() async throws {
            // 9 of 10 slots is crowded: each connection that finishes a request then idles 1 s, not 60.
            let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, connectionLimit: 10, connectionsPerClient: 10,
                                                        connectionTimeoutSeconds: 60, requestTimeoutSeconds: 1)
            try await withTestServer(configuration: configuration, routes: Self.routes) { server in
                let port = server.port
                let (closed, elapsed, status) = try await offload {
                    let started = ContinuousClock.now
                    let held = try (0..<9).map { _ in try HTTPConnection(port: port, timeout: .seconds(30)) }
                    defer { held.forEach { $0.close() } }
                    for connection in held { _ = try connection.request("GET", "/v1/items") }  // the last finds 9 open
                    let closed = try held.last!.waitForClose()
                    let elapsed = ContinuousClock.now - started
                    let newcomer = try HTTPConnection(port: port, timeout: .seconds(5), source: 2)
                    defer { newcomer.close() }
                    return (closed, elapsed, try newcomer.request("GET", "/v1/items").head.status)
                }
                #expect(closed, "the keep-alive connection that finished a request while crowded is closed")
                #expect(elapsed < .seconds(20), "after the 1 s request timeout, not the 60 s idle one (took \(elapsed))")
                #expect(status == 200)
            }
        }
    }
}
