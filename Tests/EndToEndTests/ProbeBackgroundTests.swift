import Foundation
import Testing

extension EndToEndTests {
    /// `wait=false`: 202 at once, a `Location` to poll, `running` until the probe ends.
    ///
    /// The far end is a UDP server of the test's own that holds its answer: while it holds it, the probe is
    /// running for certain, and its answer is what ends the probe (its 10 s timeout would be a failure).
    @Suite struct ProbeBackgroundTests {
        /// The whole life of a background probe, seen through its `Location`.
        @Test("wait=false answers 202 with Location and status running; GET shows running until the reply, then finished")
        func backgroundProbeRunsUntilItsReply() async throws {
            let (server, port) = try ProbePeer.udpServer(host: "127.0.0.1")
            try await withService { service in
                let response = try await service.request("POST", "/v1/probes?wait=false", json: [
                    "kind": "udp", "target": "127.0.0.1", "ports": port, "payload": "knock", "timeout_ms": 10000,
                ])
                #expect(response.status == 202, "body: \(response.text)")
                let accepted = try #require(response.json, "body: \(response.text)")
                let id = try #require(accepted["id"] as? String)
                let location = try #require(response.header("Location"), "202 without Location")
                #expect(location.hasSuffix("/v1/probes/\(id)"), "Location: \(location)")
                #expect(accepted["status"] as? String == "running")
                #expect(isAbsent(accepted["outcome"]) && isAbsent(accepted["finished_at"]), "accepted: \(accepted)")
                #expect(attempts(accepted).isEmpty)

                // The probe's datagram is here and unanswered: the probe cannot have finished.
                let (knock, sender) = try await offload { try server.receiveFrom() }
                #expect(knock == Array("knock".utf8))
                let path = URL(string: location)?.path ?? location
                let running = try await service.expecting(200, "GET", path, nil)
                #expect(running["status"] as? String == "running", "while the server holds its answer: \(running)")
                #expect(isAbsent(running["outcome"]))
                let listed = try await service.probePage("")
                #expect(listed.items.first?["id"] as? String == id)
                #expect(listed.items.first?["status"] as? String == "running")

                try server.send(Array("welcome".utf8), to: sender)
                // The API has no event for "finished": poll the Location, briefly, within a deadline.
                let deadline = ContinuousClock.now + .seconds(5)
                var finished = running
                while finished["status"] as? String != "finished", ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                    finished = try await service.expecting(200, "GET", path, nil)
                }
                #expect(finished["status"] as? String == "finished", "probe: \(finished)")
                #expect(finished["outcome"] as? String == "success", "probe: \(finished)")
                #expect(attempts(finished).first?["state"] as? String == "open")
                #expect(attempts(finished).first?["reply"] as? String == "welcome")
                #expect(number(finished["duration_ms"]).map { $0 < 10000 } == true, "ended by the reply, not the timeout")
                #expect(micros(finished["finished_at"]) != nil)
            }
        }

        /// A probe cut short by shutdown is stored finished, not left running, and says why it ended.
        @Test("a background probe still running at shutdown is stored finished, outcome failure, reason server-shutdown")
        func shutdownEndsBackgroundProbe() async throws {
            let (server, port) = try ProbePeer.udpServer(host: "127.0.0.1")
            try await withService { service in
                let response = try await service.request("POST", "/v1/probes?wait=false", json: [
                    "kind": "udp", "target": "127.0.0.1", "ports": port, "payload": "knock", "timeout_ms": 30000,
                ])
                #expect(response.status == 202, "body: \(response.text)")
                let id = try #require(response.json?["id"] as? String)
                _ = try await offload { try server.receiveFrom() }  // in flight, never answered

                let started = ContinuousClock.now
                await service.stop()
                #expect(ContinuousClock.now - started < .seconds(10), "shutdown does not wait out the probe's 30 s timeout")
                let row = try #require(try service.history { try $0.probeRow(id) })
                #expect(row.text("status") == "finished")
                #expect(row.text("outcome") == "failure")
                let reason = try #require(row.text("reason").flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
                #expect(reason["kind"] as? String == "server-shutdown", "reason stored: \(reason)")
                let events = try service.history { try $0.probeEvents(id) }
                #expect(events.map(\.op) == ["probe.start", "probe.finish"], "\(events)")
            }
        }

        /// A traceroute runs in a task of its own: shutdown must reach it too, not wait for the probe's deadline.
        @Test("a background traceroute waiting on a silent hop ends with shutdown, stored with reason server-shutdown")
        func shutdownEndsBackgroundTraceroute() async throws {
            let (server, port) = try ProbePeer.udpServer(host: "127.0.0.1")  // bound: no port unreachable comes back
            try await withService { service in
                let response = try await service.request("POST", "/v1/probes?wait=false", json: [
                    "kind": "traceroute", "target": "127.0.0.1", "ports": port, "count": 1, "max_hops": 3, "timeout_ms": 30000,
                ])
                #expect(response.status == 202, "body: \(response.text)")
                let id = try #require(response.json?["id"] as? String)
                _ = try await offload { try server.receiveFrom() }  // the first hop's probe, never answered

                let started = ContinuousClock.now
                await service.stop()
                #expect(ContinuousClock.now - started < .seconds(10), "shutdown does not wait out the hop's 30 s timeout")
                let row = try #require(try service.history { try $0.probeRow(id) })
                #expect(row.text("status") == "finished")
                let reason = try #require(row.text("reason").flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
                #expect(reason["kind"] as? String == "server-shutdown", "reason stored: \(reason)")
            }
        }

        /// The limit on probes running at once, and that it frees up as they end.
        @Test("with max_concurrent_probes probes running, one more is 429 limit (waiting or not); once they end, probes run again")
        func concurrentProbeLimitIs429() async throws {
            let (server, port) = try ProbePeer.udpServer(host: "127.0.0.1")
            let closed = try ProbePeer.closedTCPPort(host: "127.0.0.1")
            try await withService { service in
                let capabilities = try await service.expecting(200, "GET", "/v1/capabilities", nil)
                let limit = try #require(member(capabilities, "limits", "max_concurrent_probes") as? Int, "\(capabilities)")
                try #require((1...64).contains(limit), "a limit this test can fill: \(limit)")
                var ids: [String] = []
                for _ in 0..<limit {
                    let response = try await service.request("POST", "/v1/probes?wait=false", json: [
                        "kind": "udp", "target": "127.0.0.1", "ports": port, "payload": "hold", "timeout_ms": 10000,
                    ])
                    try #require(response.status == 202, "body: \(response.text)")
                    ids.append(try #require(response.json?["id"] as? String))
                }
                // Each of them holds its slot until the server answers it.
                let senders = try await offload { try (0..<limit).map { _ in try server.receiveFrom().sender } }
                for wait in ["true", "false"] {
                    let refused = try await service.request("POST", "/v1/probes?wait=\(wait)", json: [
                        "kind": "tcp", "target": "127.0.0.1", "ports": closed.port,
                    ])
                    try expectProblem(refused, status: 429, kind: "limit")
                }

                for sender in senders { try server.send(Array("done".utf8), to: sender) }
                // A slot is given back just after the probe is stored finished: poll within a deadline.
                let deadline = ContinuousClock.now + .seconds(5)
                var last = Response(status: 0, headers: [:], body: Data())
                while ContinuousClock.now < deadline {
                    last = try await service.request("POST", "/v1/probes", json: ["kind": "tcp", "target": "127.0.0.1", "ports": closed.port])
                    if last.status != 429 { break }
                    try await Task.sleep(for: .milliseconds(5))
                }
                #expect(last.status == 201, "after the running probes ended: \(last.status) \(last.text)")
                for id in ids {
                    let probe = try await service.probe(id: id)
                    #expect(probe["status"] as? String == "finished" && probe["outcome"] as? String == "success", "\(id): \(probe)")
                }
            }
        }

        /// An id that was never issued.
        @Test("GET /v1/probes/{unknown} is 404 not-found")
        func unknownProbeIsNotFound() async throws {
            try await withService { service in
                let response = try await service.request("GET", "/v1/probes/pr_nope")
                #expect(try expectProblem(response, status: 404, kind: "not-found")["field"] as? String == "id")
            }
        }
    }
}
