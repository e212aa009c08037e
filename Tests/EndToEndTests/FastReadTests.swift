import Foundation
import Testing

extension EndToEndTests {
    /// `GET /v1/sockets/{id}` of an open socket is answered on the transport's thread from memory: the same
    /// bytes as the generated handler's, up to date after every operation, and the same auth rule.
    @Suite struct FastReadTests {
        @Test("The fast answer is byte-for-byte the generated handler's, and follows every change of the socket")
        func fastReadMatchesHandler() async throws {
            try await withService { service in
                let id = try await service.createSocketID(family: "inet", type: "dgram", label: "fast")
                for step in 0..<3 {
                    // A query string makes the fast path step aside: the generated handler answers.
                    let fast = try await service.request("GET", "/v1/sockets/\(id)")
                    let handler = try await service.request("GET", "/v1/sockets/\(id)?via=handler")
                    #expect(fast.status == 200 && handler.status == 200)
                    #expect(fast.body == handler.body, "step \(step)")
                    #expect(fast.headers["content-type"] == handler.headers["content-type"])
                    switch step {
                    case 0: try await service.bind(id, ["host": "127.0.0.1", "port": 0])
                    case 1: try await service.send(id, "counted", to: ["host": "127.0.0.1", "port": 9])
                    default: break
                    }
                }
                let after = try await service.request("GET", "/v1/sockets/\(id)")
                let counters = try #require(after.json?["counters"] as? [String: Any])
                #expect(after.json?["state"] as? String == "bound" && counters["bytes_sent"] as? Int == 7)
                #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)
                let closed = try await service.request("GET", "/v1/sockets/\(id)")
                #expect(closed.status == 200 && closed.json?["state"] as? String == "closed")
            }
        }

        @Test("With a token, the fast path answers only authorized reads; others get the handler's 401 problem")
        func fastReadKeepsAuth() async throws {
            var options = ServiceOptions()
            options.token = "fast-token"
            try await withService(options) { service in
                let id = try await service.createSocketID(family: "inet", type: "dgram")
                #expect(try await service.request("GET", "/v1/sockets/\(id)").status == 200)
                let anonymous = try await service.request("GET", "/v1/sockets/\(id)", authorized: false)
                #expect(anonymous.status == 401)
                #expect(anonymous.headers["content-type"]?.hasPrefix("application/problem+json") == true)
            }
        }
    }
}
