import Foundation
import Testing

extension EndToEndTests {
    /// The timed figures of a probe agree with each other, also past one second.
    @Suite struct ProbeTimingTests {
        /// `phases.total_ms` and `duration_ms` time the same probe: a probe of 1.1 s shows about 1100 in both.
        @Test("a probe lasting over a second (UDP silence, timeout_ms 1100) shows phases.total_ms close to duration_ms, both ≥ 1100")
        func totalPhaseMatchesDurationPastOneSecond() async throws {
            let (server, port) = try ProbePeer.udpServer(host: "127.0.0.1")
            try await withService { service in
                let probe = try await service.probe(["kind": "udp", "target": "127.0.0.1", "ports": port, "payload": "?",
                                                     "timeout_ms": 1100])
                _ = try server.receiveFrom()  // already queued: the probe sent it
                let duration = try #require(number(probe["duration_ms"]), "probe: \(probe)")
                let total = try #require(number(member(probe, "phases", "total_ms")), "phases: \(String(describing: probe["phases"]))")
                #expect(duration >= 1100, "duration_ms \(duration)")
                #expect(total >= 1100, "phases.total_ms \(total) for a probe of duration_ms \(duration)")
                #expect(abs(total - duration) < 100, "phases.total_ms \(total) vs duration_ms \(duration)")
            }
        }
    }
}
