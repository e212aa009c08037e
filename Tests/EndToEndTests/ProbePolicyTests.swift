import Foundation
import Testing

extension EndToEndTests {
    /// The target policy applies to probes as it does to sockets.
    @Suite struct ProbePolicyTests {
        /// A denied target is refused before any packet leaves and before anything is stored.
        @Test("with --deny-target 127.0.0.2/32, tcp/udp/icmp probes of 127.0.0.2 are 403 naming the rule (wait=false too), nothing stored; 127.0.0.1 still probes",
              arguments: ["tcp", "udp", "icmp"])
        func deniedTargetIsForbidden(kind: String) async throws {
            let closed = try ProbePeer.closedTCPPort(host: "127.0.0.1")
            var options = ServiceOptions()
            options.denyTargets = ["127.0.0.2/32"]
            try await withService(options) { service in
                var body: [String: Any] = ["kind": kind, "target": "127.0.0.2", "timeout_ms": 200]
                if kind != "icmp" { body["ports"] = 80 } else { body["count"] = 1 }
                let response = try await service.request("POST", "/v1/probes", json: body)
                let problem = try expectProblem(response, status: 403, kind: "forbidden", field: "target")
                #expect((problem["detail"] as? String)?.contains("127.0.0.2/32") == true, "detail names the rule: \(problem)")
                let background = try await service.request("POST", "/v1/probes?wait=false", json: body)
                try expectProblem(background, status: 403, kind: "forbidden", field: "target")
                let listed = try await service.probePage("")
                #expect(listed.items.isEmpty, "a refused probe is not stored: \(listed.items)")

                let allowed = try await service.probe(["kind": "tcp", "target": "127.0.0.1", "ports": closed.port])
                #expect(attempts(allowed).first?["state"] as? String == "closed")
                await service.stop()
                #expect(try service.history { try $0.query("SELECT count(*) AS n FROM probes WHERE target = '127.0.0.2'").first?["n"].int } == 0)
                #expect(try service.history { try $0.query("SELECT count(*) AS n FROM events WHERE op LIKE 'probe.%' AND probe_id IS NULL").first?["n"].int } == 0)
            }
        }
    }
}
