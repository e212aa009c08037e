import Foundation
import Testing

/// `GET /v1/sockets`: filters named after fields, keyset pagination, both orders.
@Suite struct SocketListTests {
    /// Creates a socket and returns its id.
    private func create(_ service: TestService, _ body: [String: Any]) async throws -> String {
        let response = try await service.request("POST", "/v1/sockets", json: body)
        try #require(response.status == 201, "body: \(response.text)")
        return try #require(response.json?["id"] as? String)
    }

    /// Follows `next_cursor` from `path` (which already has a `?`) to the end; returns each page's ids.
    private func pages(_ service: TestService, _ path: String) async throws -> [[String]] {
        var pages: [[String]] = []
        var cursor: String?
        repeat {
            let target = path + (cursor.map { "&cursor=\($0)" } ?? "")
            let response = try await service.request("GET", target)
            try #require(response.status == 200, "\(target): \(response.text)")
            let page = try #require(response.json)
            pages.append(itemIDs(page))
            cursor = page["next_cursor"] as? String
            // next_cursor is absent, not null or empty, when there is no next page.
            if cursor == nil { #expect(page["next_cursor"] == nil, "\(target): \(response.text)") }
            try #require(pages.count <= 10, "pagination does not end")
        } while cursor != nil
        return pages
    }

    /// Each filter keeps exactly the sessions whose field matches.
    @Test("family, type, label and state filters keep only matching sessions")
    func filtersKeepMatchingSessions() async throws {
        try await withTestService { service in
            let tcp = try await create(service, ["family": "inet", "type": "stream", "label": "x"])
            let udp = try await create(service, ["family": "inet", "type": "dgram"])
            let unix = try await create(service, ["family": "unix", "type": "stream", "label": "y"])
            let unixDgram = try await create(service, ["family": "unix", "type": "dgram", "label": "x"])

            func ids(_ query: String) async throws -> [String] {
                let response = try await service.request("GET", "/v1/sockets?" + query)
                try #require(response.status == 200, "\(query): \(response.text)")
                return itemIDs(try #require(response.json))
            }
            #expect(try await ids("family=unix") == [unixDgram, unix])
            #expect(try await ids("family=inet") == [udp, tcp])
            #expect(try await ids("label=x") == [unixDgram, tcp])
            #expect(try await ids("label=none") == [])
            #expect(try await ids("type=dgram") == [unixDgram, udp])
            #expect(try await ids("family=unix&label=x") == [unixDgram])

            #expect(try await service.request("DELETE", "/v1/sockets/\(udp)").status == 204)
            #expect(try await ids("state=closed") == [udp])
            #expect(try await ids("state=created") == [unixDgram, unix, tcp])
        }
    }

    /// Keyset pagination: every session exactly once, in order, the last page without a cursor.
    @Test("limit=2 over 5 sockets gives pages of 2, 2, 1 without duplicates or gaps; order=asc reverses")
    func paginationCoversEverySessionOnce() async throws {
        try await withTestService { service in
            var created: [String] = []
            for index in 0..<5 {
                created.append(try await create(service, ["family": "inet", "type": "stream", "label": "p\(index)"]))
            }

            let descending = try await pages(service, "/v1/sockets?limit=2")
            #expect(descending.map(\.count) == [2, 2, 1])
            let all = descending.flatMap { $0 }
            #expect(Set(all).count == all.count, "duplicates: \(all)")
            #expect(all == created.reversed())

            let ascending = try await pages(service, "/v1/sockets?limit=2&order=asc")
            #expect(ascending.map(\.count) == [2, 2, 1])
            #expect(ascending.flatMap { $0 } == created)

            // A page boundary that lands exactly on the end: no empty trailing page.
            let exact = try await pages(service, "/v1/sockets?limit=5")
            #expect(exact == [created.reversed()])
        }
    }

    /// New sessions created between two page reads do not shift the pages already handed out.
    @Test("sockets created while paging do not cause duplicates in later pages")
    func paginationIsStableUnderInserts() async throws {
        try await withTestService { service in
            var created: [String] = []
            for _ in 0..<4 { created.append(try await create(service, ["family": "inet", "type": "dgram"])) }
            let first = try #require(try await service.request("GET", "/v1/sockets?limit=2").json)
            let cursor = try #require(first["next_cursor"] as? String)
            _ = try await create(service, ["family": "inet", "type": "dgram"])
            let second = try #require(try await service.request("GET", "/v1/sockets?limit=2&cursor=\(cursor)").json)
            #expect(itemIDs(first) + itemIDs(second) == created.reversed())
        }
    }
}
