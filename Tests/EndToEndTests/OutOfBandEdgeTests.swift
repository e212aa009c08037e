import Foundation
import Testing

extension EndToEndTests {
    /// Out-of-band receives that can never get urgent data answer at once instead of waiting (or spinning).
    @Suite struct OutOfBandEdgeTests {
        @Test("oob receive on a socket that is not connected is a 409 with ENOTCONN and the state")
        func oobOnUnconnectedSocket() async throws {
            try await withService { service in
                let id = try await service.createSocketID(family: "inet", type: "stream")
                let response = try await service.request("POST", "/v1/sockets/\(id)/receive",
                                                          json: ["max_bytes": 1, "oob": true, "timeout_ms": 5000])
                #expect(response.status == 409)
                #expect(response.json?["errno"] as? String == "ENOTCONN" && response.json?["state"] as? String == "created")
            }
        }

        @Test("oob receive after the peer closed reports eof, not a timeout")
        func oobAfterPeerClosed() async throws {
            try await withService { service in
                let listener = try await service.createSocketID(family: "inet", type: "stream")
                let bound = try await service.bind(listener, ["host": "127.0.0.1", "port": 0])
                let port = try #require((bound["local_address"] as? [String: Any])?["port"] as? Int)
                try await service.listen(listener)
                let client = try await service.createSocketID(family: "inet", type: "stream")
                try await service.connect(client, ["host": "127.0.0.1", "port": port])
                let accepted = try #require(try await service.accept(listener)["id"] as? String)
                #expect(try await service.request("DELETE", "/v1/sockets/\(accepted)").status == 204)
                let result = try await service.receive(client, maxBytes: 1, timeoutMs: 30_000, oob: true)
                #expect(result["eof"] as? Bool == true && result["timed_out"] as? Bool != true)
            }
        }

        @Test("A fractional number where an integer is expected is a 400 naming the field")
        func fractionalNumberRefused() async throws {
            try await withService { service in
                let id = try await service.createSocketID(family: "inet", type: "dgram")
                let response = try await service.request("POST", "/v1/sockets/\(id)/receive", json: ["max_bytes": 1, "timeout_ms": 0.5])
                #expect(response.status == 400 && response.json?["field"] as? String == "timeout_ms")
                let events = try service.history { try $0.scalar("SELECT count(*) FROM events WHERE op = 'receive'")?.int }
                #expect(events == 0)
            }
        }
    }
}
