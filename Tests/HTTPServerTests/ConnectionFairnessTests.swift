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
    }
}
