import Foundation
import Storage
import Testing

extension EndToEndTests {
    /// How GET /v1/probes lists stored probes: filters, order and cursor pages.
    @Suite struct ProbeListTests {
        /// Filters, each checked against the probes made, newest first, through several pages.
        @Test("GET /v1/probes filters by kind, target, outcome, since/until, and cursor pages have no duplicates and no gaps")
        func listFiltersAndPages() async throws {
            let open4 = try ProbePeer.openTCPPort(host: "127.0.0.1")
            let closed4 = try ProbePeer.closedTCPPort(host: "127.0.0.1")
            let open6 = try ProbePeer.openTCPPort(host: "::1")
            let closed6 = try ProbePeer.closedTCPPort(host: "::1")
            let udpClosed = try ProbePeer.closedUDPPort(host: "127.0.0.1")
            try await withService { service in
                let bodies: [[String: Any]] = [
                    ["kind": "tcp", "target": "127.0.0.1", "ports": open4.port],                          // 0 success
                    ["kind": "tcp", "target": "127.0.0.1", "ports": closed4.port],                        // 1 failure
                    ["kind": "tcp", "target": "::1", "ports": [open6.port, closed6.port]],                // 2 partial
                    ["kind": "icmp", "target": "127.0.0.1", "count": 2, "interval_ms": 2],                // 3 success, ≥ 2 ms
                    ["kind": "icmp", "target": "::1", "count": 2, "interval_ms": 2],                      // 4 success, ≥ 2 ms
                    ["kind": "udp", "target": "127.0.0.1", "ports": udpClosed.port],                      // 5 failure
                    ["kind": "unix", "target": "absent.sock"],                                            // 6 failure
                    ["kind": "tcp", "target": "127.0.0.1", "ports": [open4.port, closed4.port]],          // 7 partial
                ]
                var made: [(id: String, kind: String, target: String, outcome: String, startedAt: String)] = []
                for body in bodies {
                    let probe = try await service.probe(body)
                    made.append((probe["id"] as? String ?? "", probe["kind"] as? String ?? "", probe["target"] as? String ?? "",
                                 probe["outcome"] as? String ?? "", probe["started_at"] as? String ?? ""))
                }
                #expect(made.map(\.outcome) == ["success", "failure", "partial", "success", "success", "failure", "failure", "partial"])
                let newestFirst = Array(made.reversed())

                for limit in [1, 3, 1000] {
                    #expect(try await service.allProbeIDs("limit=\(limit)") == newestFirst.map(\.id), "limit \(limit)")
                }
                #expect(try await service.allProbeIDs("order=asc&limit=3") == made.map(\.id))
                for kind in ["tcp", "udp", "icmp", "unix"] {
                    #expect(try await service.allProbeIDs("kind=\(kind)&limit=2") == newestFirst.filter { $0.kind == kind }.map(\.id), "kind \(kind)")
                }
                for target in ["127.0.0.1", "::1", "absent.sock", "10.0.0.1"] {
                    #expect(try await service.allProbeIDs("target=\(queryValue(target))&limit=2")
                            == newestFirst.filter { $0.target == target }.map(\.id), "target \(target)")
                }
                for outcome in ["success", "failure", "partial"] {
                    #expect(try await service.allProbeIDs("outcome=\(outcome)&limit=2")
                            == newestFirst.filter { $0.outcome == outcome }.map(\.id), "outcome \(outcome)")
                }
                #expect(try await service.allProbeIDs("kind=tcp&target=127.0.0.1&outcome=partial") == [made[7].id])

                // Time ranges: the truth is each probe's started_at in microseconds, as stored.
                let stored = try service.history { db in
                    try Dictionary(uniqueKeysWithValues: db.query("SELECT id, started_at FROM probes").map {
                        ($0["id"].string ?? "", $0["started_at"].int ?? 0)
                    })
                }
                let since = made[3].startedAt
                let until = made[6].startedAt
                let sinceMicros = try #require(micros(since))
                let untilMicros = try #require(micros(until))
                let inRange = newestFirst.filter { (stored[$0.id] ?? 0) >= sinceMicros && (stored[$0.id] ?? 0) < untilMicros }.map(\.id)
                let ranged = try await service.allProbeIDs("since=\(queryValue(since))&until=\(queryValue(until))&limit=2")
                #expect(ranged == inRange, "since \(since) until \(until)")
                #expect(ranged.contains(made[3].id) && ranged.contains(made[4].id), "started at or after since: \(ranged)")
                #expect(!ranged.contains(made[6].id) && !ranged.contains(made[7].id), "started at or after until: \(ranged)")
                let onlySince = try await service.allProbeIDs("since=\(queryValue(made[7].startedAt))")
                #expect(onlySince.first == made[7].id && !onlySince.contains(made[0].id), "since the last: \(onlySince)")
                #expect(try await service.allProbeIDs("until=\(queryValue(made[0].startedAt))").isEmpty, "nothing before the first")
                #expect(try await service.allProbeIDs("since=\(queryValue("2999-01-01T00:00:00.000Z"))").isEmpty)

                // New probes while paging: later pages neither repeat nor skip what was there.
                let first = try await service.probePage("limit=3")
                #expect(first.items.compactMap { $0["id"] as? String } == newestFirst.prefix(3).map(\.id))
                let cursor = try #require(first.nextCursor, "8 probes at 3 a page have a next page")
                let newer = try await service.probe(["kind": "tcp", "target": "127.0.0.1", "ports": open4.port])
                let rest = try await service.allProbeIDs("limit=3", from: cursor)
                #expect(rest == newestFirst.dropFirst(3).map(\.id), "after the cursor, exactly the older probes")
                #expect(try await service.allProbeIDs("limit=4").first == newer["id"] as? String)

                for bad in ["cursor=abc", "limit=0", "limit=1001", "kind=sctp", "since=yesterday"] {
                    let response = try await service.request("GET", "/v1/probes?\(bad)")
                    try expectProblem(response, status: 400)
                }
            }
        }
    }
}
