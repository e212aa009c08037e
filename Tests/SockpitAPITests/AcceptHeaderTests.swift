import Foundation
import Testing

/// `Accept` chooses only where an operation offers a choice; everywhere else it is disregarded, so that an
/// operation that acted is never answered 406 (a created socket's id, received bytes, lost to the client).
@Suite struct AcceptHeaderTests {
    @Test("an Accept naming nothing the operation gives: the operation acts and answers its JSON", arguments: ["text/html", "text/plain", "image/png;q=1, */*;q=0"])
    func disregardedWhereNothingIsChosen(accept: String) async throws {
        try await withTestService { service in
            let created = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram", "label": "accept"],
                                                    headers: ["Accept": accept])
            #expect(created.status == 201, "body: \(created.text)")
            #expect(created.header("Content-Type")?.hasPrefix("application/json") == true)
            let pair = try await service.request("POST", "/v1/socketpairs", json: ["type": "stream"])
            let ids = try #require((pair.json?["sockets"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, "body: \(pair.text)")
            try #require(ids.count == 2)
            let sent = try await service.request("POST", "/v1/sockets/\(ids[0])/send", json: ["data": "hello"], headers: ["Accept": accept])
            #expect(sent.status == 200, "body: \(sent.text)")
            let received = try await service.request("POST", "/v1/sockets/\(ids[1])/receive", json: ["max_bytes": 64, "timeout_ms": 1000],
                                                     headers: ["Accept": accept])
            #expect(received.status == 200, "body: \(received.text)")
            #expect(received.json?["data"] as? String == "hello", "the bytes reach the client: \(received.text)")
        }
    }

    @Test("where there is a choice, Accept still makes it: the event list as ndjson, the export as text")
    func choosesWhereOffered() async throws {
        try await withTestService { service in
            _ = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram"])
            let lines = try await service.request("GET", "/v1/events", headers: ["Accept": "application/x-ndjson"])
            #expect(lines.status == 200 && lines.header("Content-Type")?.hasPrefix("application/x-ndjson") == true, "\(lines.headers)")
            let page = try await service.request("GET", "/v1/events", headers: ["Accept": "text/html"])
            #expect(page.status == 200 && page.header("Content-Type")?.hasPrefix("application/json") == true, "\(page.headers)")
            let text = try await service.request("GET", "/v1/events/export", headers: ["Accept": "text/plain"])
            #expect(text.status == 200 && text.header("Content-Type")?.hasPrefix("text/plain") == true, "\(text.headers)")
            let other = try await service.request("GET", "/v1/events/export", headers: ["Accept": "text/html"])
            #expect(other.status == 200 && other.header("Content-Type")?.hasPrefix("application/x-ndjson") == true, "\(other.headers)")
        }
    }
}
