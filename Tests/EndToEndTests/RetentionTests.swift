import Foundation
import SockpitCore
import Testing

extension EndToEndTests {
    /// History retention through the real service: old rows go, open sockets and their events stay.
    @Suite struct RetentionTests {
        @Test("A pass 31 days later prunes closed sessions and their events, keeps the open socket and its events")
        func ageRetentionKeepsOpenSockets() async throws {
            try await withService { service in
                let open = try await service.createSocketID(family: "inet", type: "dgram", label: "kept")
                try await service.bind(open, ["host": "127.0.0.1", "port": 0])
                var closed: [String] = []
                for _ in 0..<5 {
                    let id = try await service.createSocketID(family: "inet", type: "dgram")
                    try await service.send(id, "x", to: ["host": "127.0.0.1", "port": 9])
                    #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)
                    closed.append(id)
                }
                let later = UnixTime.nowMicros() + 31 * 86_400 * 1_000_000
                let result = try await service.runtime.retention.runPass(now: later)
                #expect(result.events == 15 && result.sockets == 5)

                let remaining = try service.history { db in
                    try db.query("SELECT socket_id, op FROM events ORDER BY id").map { "\($0["socket_id"].string ?? "")/\($0["op"].string ?? "")" }
                }
                #expect(remaining == ["\(open)/create", "\(open)/bind"])
                for id in closed { #expect(try await service.request("GET", "/v1/sockets/\(id)").status == 404) }
                #expect(try await service.request("GET", "/v1/sockets/\(open)").status == 200)
                // Still usable, and its history still complete.
                #expect(try await service.request("DELETE", "/v1/sockets/\(open)").status == 204)
                let events = try await service.request("GET", "/v1/sockets/\(open)/events?order=asc")
                #expect((events.json?["items"] as? [[String: Any]])?.compactMap { $0["op"] as? String } == ["create", "bind", "close"])
            }
        }

        @Test("With a count limit a pass keeps exactly the newest events, deleting in batches")
        func countRetentionInTheBackground() async throws {
            var options = ServiceOptions()
            options.retention = RetentionSettings(maxAge: nil, maxEvents: 10, interval: .seconds(3600), batchSize: 4)
            try await withService(options) { service in
                for _ in 0..<10 {
                    let id = try await service.createSocketID(family: "inet", type: "dgram")
                    #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)
                }
                let newest = try service.history { db in
                    try db.query("SELECT id FROM events ORDER BY id DESC LIMIT 10").compactMap { $0["id"].int }
                }
                let result = try await service.runtime.retention.runPass()
                #expect(result.events == 10 && result.sockets == 5 && result.batches >= 3)
                let kept = try service.history { db in
                    try db.query("SELECT id FROM events ORDER BY id DESC").compactMap { $0["id"].int }
                }
                #expect(kept == newest)
            }
        }
    }
}
