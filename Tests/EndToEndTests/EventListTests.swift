import Foundation
import Testing

extension EndToEndTests {
    /// `GET /v1/events`: the whole history across sockets, filtered and paged.
    @Suite struct EventListTests {
        @Test("GET /v1/events filters by socket, op, outcome and after, and its cursor walk has no gaps or duplicates")
        func eventsFilterAndPage() async throws {
            try await withService { service in
                var ids: [String] = []
                for index in 0..<5 {
                    ids.append(try await service.createSocketID(family: "inet", type: "dgram", label: "events-\(index)"))
                }
                // One failure: listen on a dgram socket is refused by the kernel (EOPNOTSUPP), and recorded.
                let refused = try await service.request("POST", "/v1/sockets/\(ids[0])/listen", json: [String: Any]())
                #expect(refused.status == 409)
                for id in ids { #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204) }

                func items(_ query: String) async throws -> [[String: Any]] {
                    let response = try await service.request("GET", "/v1/events?\(query)")
                    try #require(response.status == 200, "\(query): \(String(decoding: response.body, as: UTF8.self))")
                    return response.json?["items"] as? [[String: Any]] ?? []
                }

                let ofFirst = try await items("socket_id=\(ids[0])&order=asc")
                #expect(ofFirst.compactMap { $0["op"] as? String } == ["create", "listen", "close"])
                let errors = try await items("outcome=error")
                #expect(errors.count == 1 && errors.first?["errno"] as? String == "EOPNOTSUPP")
                let creates = try await items("op=create&limit=1000")
                #expect(Set(creates.compactMap { $0["socket_id"] as? String }) == Set(ids))

                // Every event, walked 3 at a time, equals the single big page.
                let all = try await items("limit=1000&order=asc").compactMap { $0["id"] as? String }
                #expect(all.count == 11)
                var walked: [String] = []
                var cursor: String?
                repeat {
                    let response = try await service.request("GET", "/v1/events?limit=3&order=asc" + (cursor.map { "&cursor=\($0)" } ?? ""))
                    let page = try #require(response.json)
                    walked += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                    cursor = page["next_cursor"] as? String
                } while cursor != nil
                #expect(walked == all)
                let later = try await items("after=\(all[5])&order=asc").compactMap { $0["id"] as? String }
                #expect(later == Array(all[6...]))

                let bad = try await service.request("GET", "/v1/events?after=x")
                #expect(bad.status == 400)
            }
        }
    
        @Test("format=ndjson streams every matching event as JSON Lines, across more than one storage page")
        func ndjsonExport() async throws {
            try await withService { service in
                // 530 sockets created and closed: 1,060 events, more than one 1,000-event page.
                for _ in 0..<530 {
                    let id = try await service.createSocketID(family: "inet", type: "dgram")
                    #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)
                }
                let response = try await service.request("GET", "/v1/events?format=ndjson&order=asc")
                #expect(response.status == 200)
                #expect(response.header("content-type")?.hasPrefix("application/x-ndjson") == true)
                let lines = String(decoding: response.body, as: UTF8.self).split(separator: "\n")
                #expect(lines.count == 1060)
                let ids = lines.compactMap { line in
                    (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
                }
                #expect(ids == (1...1060).map(String.init))
                let capped = try await service.request("GET", "/v1/events?format=ndjson&limit=7&op=close")
                #expect(String(decoding: capped.body, as: UTF8.self).split(separator: "\n").count == 7)
            }
        }

        @Test("A malformed after is a 400 naming after")
        func malformedAfterNamesItsField() async throws {
            try await withService { service in
                let response = try await service.request("GET", "/v1/events?after=x1")
                #expect(response.status == 400 && response.json?["field"] as? String == "after")
            }
        }
    }
}
