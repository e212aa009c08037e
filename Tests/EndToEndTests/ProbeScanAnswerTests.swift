import Foundation
import Storage
import Testing

extension EndToEndTests {
    /// A scan of several ports answers what people read: the ports that are not closed, and the closed ones
    /// counted and given as ranges; `results=all` still lists every port; storage keeps closed runs as ranges.
    @Suite struct ProbeScanAnswerTests {
        @Test("a 40-port scan with two listeners answers two rows and closed_ports as ranges; results=all gives 40 rows; 5 rows are stored")
        func scanAnswersListOpenPortsAndRangesOfClosedOnes() async throws {
            let run = try ProbePeer.consecutiveTCPPorts(host: "127.0.0.1", count: 40)
            try run[5].listen()
            try run[30].listen()  // the others stay bound but closed
            let first = Int(try run[0].port())
            let last = first + 39
            try await withService { service in
                let body: [String: Any] = ["kind": "tcp", "target": "127.0.0.1", "ports": "\(first)-\(last)", "timeout_ms": 2000]
                let scan = try await service.probe(body)
                #expect(attempts(scan).map { $0["port"] as? Int ?? -1 } == [first + 5, first + 30], "scan: \(scan)")
                #expect(attempts(scan).allSatisfy { $0["state"] as? String == "open" })
                #expect(member(scan, "closed_ports", "count") as? Int == 38)
                #expect(member(scan, "closed_ports", "ranges") as? String
                        == "\(first)-\(first + 4),\(first + 6)-\(first + 29),\(first + 31)-\(last)")
                #expect(member(scan, "summary", "closed") as? Int == 38)
                let id = try #require(scan["id"] as? String)
                // GET answers the same; results=all lists every port, closed ones with their errno.
                #expect(NSDictionary(dictionary: try await service.probe(id: id)).isEqual(to: scan))
                let all = try await service.probe(id: id, results: "all")
                #expect(attempts(all).map { $0["port"] as? Int ?? -1 } == Array(first...last))
                #expect(attempts(all).filter { $0["state"] as? String == "closed" }.allSatisfy { $0["errno"] as? String == "ECONNREFUSED" })
                let notClosed = try await service.probe(id: id, results: "not_closed")
                #expect(attempts(notClosed).count == 2)
                // One port alone: its row whatever its state.
                let single = try await service.probe(["kind": "tcp", "target": "127.0.0.1", "ports": first])
                #expect(attempts(single).map { $0["state"] as? String } == ["closed"])
                #expect(single["closed_ports"] == nil || single["closed_ports"] is NSNull)
                await service.stop()
                try service.history { db throws in
                    let rows = try db.query("SELECT position, last_position, state FROM probe_results WHERE probe_id = ? ORDER BY position", [.text(id)])
                    #expect(rows.map { "\($0["position"].int ?? 0)-\($0["last_position"].int.map(String.init) ?? "")-\($0["state"].string ?? "")" }
                            == ["\(first)-\(first + 4)-closed", "\(first + 5)--open", "\(first + 6)-\(first + 29)-closed",
                                "\(first + 30)--open", "\(first + 31)-\(last)-closed"])
                }
            }
        }
    }
}
