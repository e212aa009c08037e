import Foundation
import Testing

extension EndToEndTests {
    /// UDP probes against an echo server of the test's own, a reserved closed port and a silent server.
    @Suite struct ProbeUDPTests {
        /// A reply means open; the kernel's ICMP port unreachable means closed.
        @Test("a UDP probe answers open for an echo server (with the reply) and closed for a port nobody serves (ECONNREFUSED)",
              arguments: ["127.0.0.1", "::1"])
        func echoIsOpenAndUnreachableIsClosed(host: String) async throws {
            let (server, open) = try ProbePeer.udpServer(host: host)
            let closed = try ProbePeer.closedUDPPort(host: host)
            try await withService { service in
                async let echoed = ProbePeer.echo(server, count: 1)
                let probe = try await service.probe([
                    "kind": "udp", "target": host, "ports": [open, closed.port], "payload": "ping", "timeout_ms": 3000,
                ], results: "all")
                #expect(try await echoed == [Array("ping".utf8)])
                #expect(probe["outcome"] as? String == "partial", "probe: \(probe)")
                #expect(member(probe, "reason", "kind") as? String == "refused", "reason: \(String(describing: probe["reason"]))")
                #expect(member(probe, "reason", "errno") as? String == "ECONNREFUSED")
                #expect(member(probe, "summary", "open") as? Int == 1)
                #expect(member(probe, "summary", "closed") as? Int == 1)
                #expect(member(probe, "summary", "open_filtered") as? Int == 0)

                let openRow = try #require(attempts(probe).first { $0["port"] as? Int == open }, "probe: \(probe)")
                #expect(openRow["state"] as? String == "open")
                #expect(openRow["reply"] as? String == "ping")
                #expect(openRow["bytes"] as? Int == 4)
                expectPlausibleRTT(openRow)
                let closedRow = try #require(attempts(probe).first { $0["port"] as? Int == closed.port })
                #expect(closedRow["state"] as? String == "closed", "row: \(closedRow)")
                #expect(closedRow["errno"] as? String == "ECONNREFUSED")
            }
        }

        /// nmap's default UDP probe is an empty datagram; an empty reply is still a reply.
        @Test("an empty probe datagram echoed back empty is open")
        func emptyEchoIsOpen() async throws {
            let (server, port) = try ProbePeer.udpServer(host: "127.0.0.1")
            try await withService { service in
                async let echoed = ProbePeer.echo(server, count: 1)
                let probe = try await service.probe(["kind": "udp", "target": "127.0.0.1", "ports": port, "timeout_ms": 3000])
                #expect(try await echoed == [[]])
                #expect(attempts(probe).first?["state"] as? String == "open", "probe: \(probe)")
                #expect(probe["outcome"] as? String == "success")
            }
        }

        /// Silence is ambiguous: open|filtered, and the probe ends at its timeout.
        @Test("a server that never answers is open|filtered once timeout_ms passes, outcome failure, reason timeout")
        func silenceIsOpenFiltered() async throws {
            let (server, port) = try ProbePeer.udpServer(host: "127.0.0.1")
            try await withService { service in
                let probe = try await service.probe(["kind": "udp", "target": "127.0.0.1", "ports": port, "payload": "hello?",
                                                     "timeout_ms": 200])
                let (received, _) = try server.receiveFrom()  // already queued: the probe sent it
                #expect(received == Array("hello?".utf8))
                #expect(attempts(probe).first?["state"] as? String == "open|filtered", "probe: \(probe)")
                #expect(probe["outcome"] as? String == "failure")
                #expect(member(probe, "reason", "kind") as? String == "timeout")
                #expect(member(probe, "summary", "open_filtered") as? Int == 1)
                #expect(number(probe["duration_ms"]).map { $0 >= 200 } == true, "ends at its timeout: \(String(describing: probe["duration_ms"]))")
            }
        }
    }
}
