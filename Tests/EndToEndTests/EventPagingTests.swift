import Foundation
import Testing

extension EndToEndTests {
    /// `GET /v1/events` over a few thousand events: every filter's cursor walk equals the SQL answer, in order,
    /// with no duplicate and no gap, newest first and oldest first.
    @Suite struct EventPagingTests {
        /// Walks every page of `query` (page size `limit`) and returns the event ids in the order served.
        static func walk(_ service: Service, _ query: String, limit: Int) async throws -> [Int64] {
            var ids: [Int64] = []
            var cursor: String?
            var pages = 0
            repeat {
                let target = "/v1/events?limit=\(limit)" + (query.isEmpty ? "" : "&" + query) + (cursor.map { "&cursor=\($0)" } ?? "")
                let response = try await service.request("GET", target)
                try #require(response.status == 200, "\(target): \(String(decoding: response.body, as: UTF8.self))")
                let page = try #require(response.json)
                let items = page["items"] as? [[String: Any]] ?? []
                #expect(items.count <= limit)
                ids += items.compactMap { ($0["id"] as? String).flatMap { Int64($0) } }
                cursor = page["next_cursor"] as? String
                pages += 1
                if cursor != nil { #expect(items.count == limit, "only the last page may be short") }
            } while cursor != nil && pages < 10_000
            return ids
        }

        @Test("Cursor walks over ~3,000 events match SQL for every filter, both orders")
        func pagingMatchesHistory() async throws {
            try await withService { service in
                // 8 clients in parallel: 240 sockets, each created, bound, sent to 9 times, 1 refused listen, closed.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            for index in 0..<30 {
                                let id = try await service.createSocketID(family: "inet", type: "dgram", label: "w\(worker)-\(index)")
                                try await service.bind(id, ["host": "127.0.0.1", "port": 0])
                                for n in 0..<9 { try await service.send(id, "message \(n)", to: ["host": "127.0.0.1", "port": 9]) }
                                _ = try await service.request("POST", "/v1/sockets/\(id)/listen", json: [String: Any]())
                                _ = try await service.request("DELETE", "/v1/sockets/\(id)")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                func sql(_ whereClause: String, _ order: String) throws -> [Int64] {
                    try service.history { db in
                        try db.query("SELECT id FROM events \(whereClause) ORDER BY id \(order)").compactMap { $0["id"].int }
                    }
                }
                let total = try sql("", "ASC").count
                #expect(total >= 3000)
                let someSocket = try service.history { try $0.scalar("SELECT socket_id FROM events WHERE op = 'send' LIMIT 1 OFFSET 700")?.string } ?? ""
                let middle = try sql("", "ASC")[total / 2]
                let cases: [(query: String, sql: String)] = [
                    ("", ""),
                    ("op=send", "WHERE op = 'send'"),
                    ("outcome=error", "WHERE outcome = 'error'"),
                    ("op=bind&outcome=ok", "WHERE op = 'bind' AND outcome = 'ok'"),
                    ("socket_id=\(someSocket)", "WHERE socket_id = '\(someSocket)'"),
                    ("after=\(middle)", "WHERE id > \(middle)"),
                ]
                for (query, whereClause) in cases {
                    for (order, sqlOrder) in [("desc", "DESC"), ("asc", "ASC")] {
                        let expected = try sql(whereClause, sqlOrder)
                        let walked = try await Self.walk(service, query + (query.isEmpty ? "" : "&") + "order=\(order)", limit: 97)
                        #expect(walked == expected, "\(query) \(order): \(walked.count) served, \(expected.count) in history")
                        #expect(Set(walked).count == walked.count, "\(query) \(order): duplicates")
                    }
                }
                // Events recorded during a walk never shift it: a newest-first walk started before them ends where it would have.
                let before = try sql("", "DESC")
                var cursor: String?
                var served: [Int64] = []
                repeat {
                    let page = try #require(try await service.request("GET", "/v1/events?limit=500" + (cursor.map { "&cursor=\($0)" } ?? "")).json)
                    if cursor == nil { _ = try await service.createSocketID(family: "inet", type: "dgram", label: "during-walk") }
                    served += (page["items"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? String).flatMap { Int64($0) } }
                    cursor = page["next_cursor"] as? String
                } while cursor != nil
                #expect(served == before)
            }
        }
    }
}
