import Foundation
import NamespaceRig
import Storage
import Testing

extension EndToEndTests {
    /// The traceroute probe (issue 14) across a routed chain a → r1 → r2 → c, run from inside a.
    @Suite(.enabled(if: NamespaceRig.isAvailable, "\(NamespaceRig.unavailableReason ?? "")"))
    struct TracerouteProbeTests {
        static func options() -> ServiceOptions {
            var options = ServiceOptions()
            options.allowNetns = ["*"]
            return options
        }

        @Test("hops r1, r2, c in order with RTTs for udp, tcp and icmp; each hop stored with a probe.hop event", arguments: ["udp", "tcp", "icmp"])
        func tracesTheChain(method: String) async throws {
            try await NamespaceRig.withChain(routers: 2) { hosts in
                try await withService(Self.options()) { service in
                    let probe = try await service.probe(["kind": "traceroute", "target": hosts[3].ipv4, "method": method, "netns": hosts[0].name,
                                                         "max_hops": 10, "timeout_ms": 2000], results: "all")
                    // As with traceroute, a probe may be lost on the way (a `*`, state timeout); every answer is the
                    // right hop's, and each hop answers.
                    #expect(["success", "partial"].contains(probe["outcome"] as? String ?? ""), "\(probe)")
                    #expect(probe["netns"] as? String == hosts[0].name)
                    let rows = attempts(probe)
                    #expect(rows.map { $0["hop"] as? Int } == [1, 1, 1, 2, 2, 2, 3, 3, 3], "\(rows)")
                    for (hop, expected) in [(1, hosts[1].ipv4), (2, hosts[2].ipv4), (3, hosts[3].ipv4)] {
                        let answered = rows.filter { $0["hop"] as? Int == hop && $0["state"] as? String != "timeout" }
                        #expect(!answered.isEmpty && answered.allSatisfy { row in
                            row["address"] as? String == expected && (row["rtt_ms"] as? Double ?? -1) >= 0
                                && row["state"] as? String == (hop == 3 ? "reached" : "hop")
                        }, "hop \(hop): \(rows)")
                    }
                    #expect(rows.filter { $0["state"] as? String == "timeout" }.count <= 1, "at most one probe lost: \(rows)")
                    if method != "tcp" {
                        #expect(rows.first?["icmp_type"] as? Int == 11, "time exceeded from r1: \(rows.first ?? [:])")
                    }
                    #expect(member(probe, "summary", "destination_hop") as? Int == 3)
                    let id = try #require(probe["id"] as? String)
                    await service.stop()
                    let hops = try service.history { db in
                        try db.query("SELECT result FROM events WHERE probe_id = ? AND op = 'probe.hop' ORDER BY id", [.text(id)])
                            .compactMap { $0["result"].string }
                    }
                    #expect(hops.count == 3 && hops[0].contains("\"ttl\":1") && hops[2].contains(hosts[3].ipv4), "\(hops)")
                }
            }
        }

        @Test("a router that drops its ICMP shows as * (timeouts) and the trace goes on to the target; wait=false answers 202 and fills in hop by hop")
        func silentHopIsLoss() async throws {
            try await NamespaceRig.withChain(routers: 2) { hosts in
                try NamespaceRig.silence(hosts[2])
                try await withService(Self.options()) { service in
                    let response = try await service.request("POST", "/v1/probes?wait=false", json: [
                        "kind": "traceroute", "target": hosts[3].ipv4, "netns": hosts[0].name, "max_hops": 6, "timeout_ms": 500,
                    ])
                    #expect(response.status == 202, "\(response.text)")
                    let id = try #require(response.json?["id"] as? String)
                    // Hop 1 answers at once; hop 2 is silent for its 500 ms: meanwhile the running probe shows hop 1.
                    var probe: [String: Any] = [:]
                    var sawFirstHopWhileRunning = false
                    for _ in 0..<100 {
                        probe = try await service.probe(id: id, results: "all")
                        if probe["status"] as? String == "finished" { break }
                        let hops = Set(attempts(probe).compactMap { $0["hop"] as? Int })
                        if hops == [1] { sawFirstHopWhileRunning = true }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    #expect(sawFirstHopWhileRunning, "a running traceroute shows the hops it has")
                    #expect(probe["outcome"] as? String == "partial", "\(probe)")
                    let rows = attempts(probe)
                    #expect(rows.filter { $0["hop"] as? Int == 2 }.allSatisfy { $0["state"] as? String == "timeout" && $0["address"] == nil }, "\(rows)")
                    #expect(rows.filter { $0["hop"] as? Int == 3 }.allSatisfy { $0["state"] as? String == "reached" }, "\(rows)")
                    #expect(member(probe, "reason", "kind") as? String == "loss")
                }
            }
        }
    }
}
