import Foundation
import Testing

extension EndToEndTests {
    /// ICMP echo to loopback (raw sockets as root, else the unprivileged ping socket).
    @Suite struct ProbeICMPTests {
        /// A ping of loopback: every echo answered, in order, with a ping-style summary.
        @Test("an ICMP probe of count 5 to loopback gets 5 replies, sequences 1...5, plausible rtt, summary sent 5 received 5 loss 0",
              arguments: ["127.0.0.1", "::1"], [0, 10])
        func loopbackAnswersEveryEcho(host: String, intervalMs: Int) async throws {
            try await withService { service in
                let probe = try await service.probe(["kind": "icmp", "target": host, "count": 5, "interval_ms": intervalMs,
                                                     "timeout_ms": 2000])
                #expect(probe["outcome"] as? String == "success", "probe: \(probe)")
                #expect(isAbsent(probe["reason"]))
                #expect(probe["resolved_address"] as? String == host)
                let rows = attempts(probe)
                #expect(rows.map { $0["sequence"] as? Int ?? -1 } == Array(1...5), "rows: \(rows)")
                for row in rows {
                    #expect(row["state"] as? String == "reply", "row: \(row)")
                    #expect(row["bytes"] as? Int == 56, "the default payload comes back whole: \(row)")
                    #expect((row["ttl"] as? Int).map { $0 > 0 } == true, "row: \(row)")
                    #expect(isAbsent(row["port"]), "echoes have sequences, not ports: \(row)")
                    expectPlausibleRTT(row)
                }
                #expect(member(probe, "summary", "sent") as? Int == 5)
                #expect(member(probe, "summary", "received") as? Int == 5)
                #expect(number(member(probe, "summary", "loss_percent")) == 0)
                let low = try #require(number(member(probe, "summary", "rtt_min_ms")), "summary: \(String(describing: probe["summary"]))")
                let mean = try #require(number(member(probe, "summary", "rtt_avg_ms")))
                let high = try #require(number(member(probe, "summary", "rtt_max_ms")))
                #expect(0 < low && low <= mean && mean <= high && high < 1000, "min/avg/max: \(low)/\(mean)/\(high)")
                if intervalMs > 0 {
                    #expect(number(probe["duration_ms"]).map { $0 >= Double(4 * intervalMs) } == true,
                            "5 echoes \(intervalMs) ms apart: \(String(describing: probe["duration_ms"]))")
                }
            }
        }

        /// Replies are matched by identifier and sequence: two pings at once never take each other's.
        ///
        /// The two pings use different payload sizes, so a reply delivered to the wrong ping would show the other
        /// one's size in `bytes`; three rounds give interleavings more chances to go wrong.
        @Test("two concurrent pings of 127.0.0.1 (count 20, interval 0) each get exactly their own 20 replies, sequences 1...20")
        func concurrentPingsGetTheirOwnReplies() async throws {
            try await withService { service in
                for round in 1...3 {
                    async let small = service.request("POST", "/v1/probes", json: [
                        "kind": "icmp", "target": "127.0.0.1", "count": 20, "interval_ms": 0, "timeout_ms": 2000, "size": 56,
                    ])
                    async let large = service.request("POST", "/v1/probes", json: [
                        "kind": "icmp", "target": "127.0.0.1", "count": 20, "interval_ms": 0, "timeout_ms": 2000, "size": 200,
                    ])
                    let responses = try await [(56, small), (200, large)]
                    let answers = try responses.map { ($0.0, try finishedProbe($0.1, kind: "icmp", target: "127.0.0.1")) }
                    #expect(answers[0].1["id"] as? String != answers[1].1["id"] as? String)
                    for (size, probe) in answers {
                        let rows = attempts(probe)
                        #expect(rows.map { $0["sequence"] as? Int ?? -1 } == Array(1...20), "round \(round), size \(size): \(rows)")
                        #expect(rows.allSatisfy { $0["state"] as? String == "reply" }, "round \(round), size \(size): \(rows)")
                        #expect(rows.allSatisfy { $0["bytes"] as? Int == size },
                                "round \(round): a reply of another ping? sizes \(rows.map { $0["bytes"] as? Int ?? -1 }), expected \(size)")
                        #expect(member(probe, "summary", "received") as? Int == 20)
                        #expect(number(member(probe, "summary", "loss_percent")) == 0)
                        #expect(probe["outcome"] as? String == "success")
                    }
                }
            }
        }
    }
}
