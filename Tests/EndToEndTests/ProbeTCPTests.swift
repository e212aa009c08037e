import Foundation
import Testing

extension EndToEndTests {
    /// TCP connect probes against listeners and bound-but-closed ports of the test's own, on loopback.
    @Suite struct ProbeTCPTests {
        /// The verdict of each port, with rtt, and the probe's outcome when some ports answer and some refuse.
        @Test("a TCP probe of an open and a closed port answers open and closed, both with rtt, outcome partial, reason refused ECONNREFUSED",
              arguments: ["127.0.0.1", "::1"])
        func openAndClosedPortsArePartial(host: String) async throws {
            let open = try ProbePeer.openTCPPort(host: host)
            let closed = try ProbePeer.closedTCPPort(host: host)
            try await withService { service in
                let probe = try await service.probe([
                    "kind": "tcp", "target": host, "ports": [closed.port, open.port], "timeout_ms": 2000,
                ], results: "all")
                #expect(probe["resolved_address"] as? String == host)
                #expect(probe["outcome"] as? String == "partial", "probe: \(probe)")
                #expect(member(probe, "reason", "kind") as? String == "refused", "reason: \(String(describing: probe["reason"]))")
                #expect(member(probe, "reason", "errno") as? String == "ECONNREFUSED")
                #expect(member(probe, "summary", "open") as? Int == 1)
                #expect(member(probe, "summary", "closed") as? Int == 1)
                #expect(member(probe, "summary", "filtered") as? Int == 0)
                #expect(number(member(probe, "phases", "connect_ms")) != nil, "phases: \(String(describing: probe["phases"]))")

                let rows = attempts(probe)
                #expect(rows.map { $0["port"] as? Int } == [open.port, closed.port].sorted().map(Optional.init), "rows: \(rows)")
                let openRow = try #require(rows.first { $0["port"] as? Int == open.port })
                #expect(openRow["state"] as? String == "open")
                #expect(isAbsent(openRow["errno"]), "open row: \(openRow)")
                expectPlausibleRTT(openRow)
                let closedRow = try #require(rows.first { $0["port"] as? Int == closed.port })
                #expect(closedRow["state"] as? String == "closed")
                #expect(closedRow["errno"] as? String == "ECONNREFUSED")
                expectPlausibleRTT(closedRow)
            }
        }

        /// The text forms of `ports`: a range, a comma list, and a single number.
        @Test("ports as a range \"P-P+2\", a text list and a single number probe exactly those ports, in port order")
        func portFormsNameExactlyThosePorts() async throws {
            let run = try ProbePeer.consecutiveTCPPorts(host: "127.0.0.1", count: 3)
            try run[0].listen()
            try run[2].listen()  // run[1] stays bound but closed
            let first = Int(try run[0].port())
            try await withService { service in
                let range = try await service.probe([
                    "kind": "tcp", "target": "127.0.0.1", "ports": "\(first)-\(first + 2)", "timeout_ms": 2000,
                ], results: "all")
                #expect(attempts(range).map { $0["port"] as? Int ?? -1 } == [first, first + 1, first + 2])
                #expect(attempts(range).map { $0["state"] as? String ?? "?" } == ["open", "closed", "open"], "range: \(range)")
                #expect(range["outcome"] as? String == "partial")
                #expect(member(range, "summary", "open") as? Int == 2)
                #expect(member(range, "summary", "closed") as? Int == 1)

                let list = try await service.probe([
                    "kind": "tcp", "target": "127.0.0.1", "ports": "\(first + 2),\(first)", "timeout_ms": 2000,
                ])
                #expect(attempts(list).map { $0["port"] as? Int ?? -1 } == [first, first + 2])
                #expect(attempts(list).allSatisfy { $0["state"] as? String == "open" }, "list: \(list)")
                #expect(list["outcome"] as? String == "success")
                #expect(isAbsent(list["reason"]), "a success has no reason: \(String(describing: list["reason"]))")

                let single = try await service.probe(["kind": "tcp", "target": "127.0.0.1", "ports": first + 1])
                #expect(attempts(single).map { $0["state"] as? String ?? "?" } == ["closed"])
                #expect(single["outcome"] as? String == "failure")
                #expect(member(single, "reason", "kind") as? String == "refused")
            }
        }

        /// A host name is resolved first; `ip_family` picks the family.
        @Test("target localhost with ip_family inet is resolved: resolved_address 127.0.0.1, the port probed there")
        func hostNameIsResolved() async throws {
            let open = try ProbePeer.openTCPPort(host: "127.0.0.1")
            try await withService { service in
                let probe = try await service.probe(["kind": "tcp", "target": "localhost", "ip_family": "inet", "ports": open.port])
                #expect(probe["resolved_address"] as? String == "127.0.0.1")
                #expect(attempts(probe).first?["state"] as? String == "open", "probe: \(probe)")
                #expect(number(member(probe, "phases", "resolve_ms")).map { $0 >= 0 } == true)
            }
        }

        /// `count` is attempts per port: one row each.
        @Test("count 3 on one open port gives three open rows for that port")
        func countRepeatsEachPort() async throws {
            let open = try ProbePeer.openTCPPort(host: "127.0.0.1")
            try await withService { service in
                let probe = try await service.probe(["kind": "tcp", "target": "127.0.0.1", "ports": [open.port], "count": 3])
                #expect(attempts(probe).map { $0["port"] as? Int ?? -1 } == [open.port, open.port, open.port])
                #expect(attempts(probe).allSatisfy { $0["state"] as? String == "open" }, "probe: \(probe)")
                #expect(probe["outcome"] as? String == "success")
            }
        }

        /// `expect.regex` over the banner a listener sends first.
        @Test("a banner matching expect.regex is success with expect_matched true and the banner as reply",
              arguments: ["127.0.0.1", "::1"])
        func bannerMatchingRegexIsSuccess(host: String) async throws {
            let (listener, port) = try ProbePeer.openTCPPort(host: host)
            try await withService { service in
                async let served: Void = ProbePeer.serveBanner(listener, banner: "SSH-2.0-OpenSSH_9.6 sockpit\r\n")
                let probe = try await service.probe([
                    "kind": "tcp", "target": host, "ports": port, "timeout_ms": 3000, "expect": ["regex": #"^SSH-2\.0-\S+"#],
                ])
                try await served
                #expect(probe["outcome"] as? String == "success", "probe: \(probe)")
                #expect(isAbsent(probe["reason"]))
                let row = try #require(attempts(probe).first)
                #expect(row["state"] as? String == "open")
                #expect(row["expect_matched"] as? Bool == true, "row: \(row)")
                #expect((row["reply"] as? String)?.hasPrefix("SSH-2.0-OpenSSH_9.6") == true, "row: \(row)")
                #expect(number(member(probe, "phases", "first_byte_ms")).map { $0 >= 0 } == true,
                        "phases: \(String(describing: probe["phases"]))")
            }
        }

        /// A reply that does not match is a failure, and says so, though the port is open.
        @Test("a banner not matching expect.regex is outcome failure, reason expect-mismatch, expect_matched false")
        func bannerMismatchIsFailure() async throws {
            let (listener, port) = try ProbePeer.openTCPPort(host: "127.0.0.1")
            try await withService { service in
                async let served: Void = ProbePeer.serveBanner(listener, banner: "220 mail.example ESMTP\r\n")
                let probe = try await service.probe([
                    "kind": "tcp", "target": "127.0.0.1", "ports": port, "timeout_ms": 3000,
                    "expect": ["regex": #"^HTTP/1\.[01] \d{3}"#],
                ])
                try await served
                #expect(probe["outcome"] as? String == "failure", "probe: \(probe)")
                #expect(member(probe, "reason", "kind") as? String == "expect-mismatch", "reason: \(String(describing: probe["reason"]))")
                let row = try #require(attempts(probe).first)
                #expect(row["state"] as? String == "open", "the port is open all the same: \(row)")
                #expect(row["expect_matched"] as? Bool == false)
                #expect(row["reply"] as? String == "220 mail.example ESMTP\r\n")
                #expect(member(probe, "summary", "open") as? Int == 1)
            }
        }

        /// The ReDoS of issue 18: `^(a+)+b` over 28 × `a` took a backtracking engine 88 s of CPU per probe. The
        /// linear-time matcher answers at once; 16 such probes at once leave the other endpoints answering.
        @Test("16 probes expecting ^(a+)+b of a 28 × a banner all end in time, expect_matched false; health answers meanwhile")
        func catastrophicRegexEndsInTime() async throws {
            let (listener, port) = try ProbePeer.openTCPPort(host: "127.0.0.1")
            try await withService { service in
                async let served: Void = ProbePeer.serveBanner(listener, banner: String(repeating: "a", count: 28), count: 16)
                /// What each probe said: outcome, reason kind, expect_matched, duration_ms.
                typealias Verdict = (outcome: String?, reason: String?, matched: Bool?, duration: Double?)
                let verdicts = try await withThrowingTaskGroup(of: Verdict?.self) { group in
                    for _ in 0..<16 {
                        group.addTask {
                            let probe = try await service.probe([
                                "kind": "tcp", "target": "127.0.0.1", "ports": port, "timeout_ms": 3000, "read_banner": true,
                                "expect": ["regex": "^(a+)+b"],
                            ])
                            return (probe["outcome"] as? String, member(probe, "reason", "kind") as? String,
                                    attempts(probe).first?["expect_matched"] as? Bool, number(probe["duration_ms"]))
                        }
                    }
                    group.addTask {
                        // While they run, health answers (every probe is in flight or done; none holds a core).
                        let health = try await service.request("GET", "/v1/health")
                        #expect(health.status == 200)
                        return nil
                    }
                    var all: [Verdict] = []
                    for try await verdict in group { if let verdict { all.append(verdict) } }
                    return all
                }
                try await served
                #expect(verdicts.count == 16)
                for verdict in verdicts {
                    #expect(verdict.outcome == "failure" && verdict.reason == "expect-mismatch", "\(verdict)")
                    #expect(verdict.matched == false)
                    #expect(verdict.duration.map { $0 < 3000 } == true, "within timeout_ms: \(verdict)")
                }
            }
        }

        /// `expect.contains` is bytes in the request's `encoding`.
        @Test("expect.contains in hex finds those bytes in the banner: success")
        func containsInHexMatches() async throws {
            let (listener, port) = try ProbePeer.openTCPPort(host: "127.0.0.1")
            try await withService { service in
                async let served: Void = ProbePeer.serveBanner(listener, banner: "+OK POP3 ready\r\n")
                let probe = try await service.probe([
                    "kind": "tcp", "target": "127.0.0.1", "ports": port, "timeout_ms": 3000,
                    "encoding": "hex", "expect": ["contains": hex(Array("POP3".utf8))],
                ])
                try await served
                #expect(probe["outcome"] as? String == "success", "probe: \(probe)")
                #expect(attempts(probe).first?["expect_matched"] as? Bool == true)
            }
        }
    }
}

/// Requires a row's `rtt_ms` to be a plausible loopback round trip: more than 0, less than a second.
func expectPlausibleRTT(_ row: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
    let rtt = number(row["rtt_ms"])
    #expect(rtt.map { $0 > 0 && $0 < 1000 } == true, "rtt_ms: \(String(describing: row["rtt_ms"])) in \(row)",
            sourceLocation: sourceLocation)
}
