import Foundation
import Storage
import Testing

extension EndToEndTests {
    /// What the service stores of probes, read with SQL from its SQLite file.
    @Suite struct ProbeHistoryTests {
        /// The stored rows are the answer: nothing the client saw is missing from history, nothing differs.
        @Test("each probe is stored as answered: probes and probe_results rows match POST and GET, with probe.start and probe.finish events")
        func probesAreStoredAsAnswered() async throws {
            let open = try ProbePeer.openTCPPort(host: "127.0.0.1")
            let closed = try ProbePeer.closedTCPPort(host: "127.0.0.1")
            let udpClosed = try ProbePeer.closedUDPPort(host: "::1")
            try await withService { service in
                let listener = try ProbePeer.unixListener(in: service, name: "history.sock")
                defer { listener.close() }
                var answers: [[String: Any]] = []
                answers.append(try await service.probe(["kind": "tcp", "target": "127.0.0.1", "ports": [open.port, closed.port]], results: "all"))
                answers.append(try await service.probe(["kind": "udp", "target": "::1", "ports": udpClosed.port, "payload": "x"]))
                answers.append(try await service.probe(["kind": "icmp", "target": "127.0.0.1", "count": 3, "interval_ms": 0]))
                answers.append(try await service.probe(["kind": "unix", "target": "history.sock"]))
                answers.append(try await service.probe(["kind": "unix", "target": "absent.sock"]))
                #expect(answers.map { $0["outcome"] as? String ?? "?" } == ["partial", "failure", "success", "success", "failure"])

                for answer in answers {
                    let id = try #require(answer["id"] as? String)
                    let got = try await service.probe(id: id, results: "all")
                    #expect(NSDictionary(dictionary: got).isEqual(to: answer), "GET \(id) differs from the POST answer:\n\(got)\n\(answer)")
                }
                await service.stop()

                try service.history { db throws in
                    for answer in answers {
                        let id = answer["id"] as? String ?? ""
                        guard let row = try db.probeRow(id) else {
                            Issue.record("probe \(id) is not stored")
                            continue
                        }
                        #expect(row.text("kind") == answer["kind"] as? String)
                        #expect(row.text("target") == answer["target"] as? String)
                        #expect(row.text("resolved_address") == answer["resolved_address"] as? String)
                        #expect(row.text("status") == "finished")
                        #expect(row.text("outcome") == answer["outcome"] as? String)
                        for column in ["reason", "summary", "phases"] {
                            expectSameJSON(row.text(column), answer[column], "\(id) \(column)")
                        }
                        expectSameInstant(row.int("started_at"), answer["started_at"], "\(id) started_at")
                        expectSameInstant(row.int("finished_at"), answer["finished_at"], "\(id) finished_at")
                        #expect(row.int("duration_us").map { Double($0) / 1000 } == number(answer["duration_ms"]), "\(id) duration")
                        let request = try JSONSerialization.jsonObject(with: Data((row.text("request") ?? "{}").utf8)) as? [String: Any]
                        #expect(request?["kind"] as? String == answer["kind"] as? String, "the request is kept: \(String(describing: request))")

                        let stored = try db.query("SELECT * FROM probe_results WHERE probe_id = ? ORDER BY position, id", [.text(id)])
                        let shown = attempts(answer)
                        #expect(stored.count == shown.count, "\(id): \(stored.count) rows stored, \(shown.count) answered")
                        for (dbRow, attempt) in zip(stored, shown) {
                            #expect(dbRow["position"].int.map(Int.init) == (attempt["port"] ?? attempt["sequence"]) as? Int, "\(id) \(attempt)")
                            #expect(dbRow["state"].string == attempt["state"] as? String, "\(id) \(attempt)")
                            #expect(dbRow["errno"].string == attempt["errno"] as? String, "\(id) \(attempt)")
                            #expect(dbRow["rtt_us"].int.map { Double($0) / 1000 } == number(attempt["rtt_ms"]), "\(id) \(attempt)")
                            #expect(dbRow["ttl"].int.map(Int.init) == attempt["ttl"] as? Int, "\(id) \(attempt)")
                            #expect(dbRow["bytes"].int.map(Int.init) == attempt["bytes"] as? Int, "\(id) \(attempt)")
                        }

                        let events = try db.probeEvents(id)
                        #expect(events.map(\.op) == ["probe.start", "probe.finish"], "\(id): \(events)")
                        if let finish = events.last, events.count == 2 {
                            #expect(finish.outcome == (answer["outcome"] as? String == "failure" ? "error" : "ok"), "\(id): \(finish)")
                            let result = try JSONSerialization.jsonObject(with: Data((finish.result ?? "{}").utf8)) as? [String: Any]
                            #expect(result?["outcome"] as? String == answer["outcome"] as? String, "\(id): \(finish)")
                        }
                    }
                    let total = try db.query("SELECT count(*) AS n FROM probe_results").first?["n"].int
                    #expect(total == Int64(answers.map { attempts($0).count }.reduce(0, +)), "no stray result rows")
                }
            }
        }
    }
}

/// Requires the JSON text of a column and the JSON value the API answered to be the same (or both absent).
func expectSameJSON(_ text: String?, _ answered: Any?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let text else {
        #expect(isAbsent(answered), "\(what): stored NULL, answered \(String(describing: answered))", sourceLocation: sourceLocation)
        return
    }
    let stored = try? JSONSerialization.jsonObject(with: Data(text.utf8))
    #expect((stored as? NSObject)?.isEqual(answered) == true, "\(what): stored \(text), answered \(String(describing: answered))",
            sourceLocation: sourceLocation)
}

/// Requires a stored Unix-microsecond time and the RFC 3339 time the API answered to name the same millisecond
/// (the API shows milliseconds; a 1 ms difference is allowed for the binary rounding of an exact millisecond).
func expectSameInstant(_ stored: Int64?, _ answered: Any?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let stored else {
        #expect(isAbsent(answered), "\(what): stored NULL, answered \(String(describing: answered))", sourceLocation: sourceLocation)
        return
    }
    let shown = micros(answered)
    #expect(shown.map { abs(stored / 1000 - $0 / 1000) <= 1 } == true, "\(what): stored \(stored) µs, answered \(String(describing: answered))",
            sourceLocation: sourceLocation)
}
