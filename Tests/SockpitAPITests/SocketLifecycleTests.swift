import Foundation
import Storage
import Testing

/// A socket's life over HTTP — create, read, close, history — checked against the SQLite file too.
@Suite struct SocketLifecycleTests {
    /// Creation answers 201 with a plain `Location` and the new session.
    @Test("creating a socket answers 201 with Location /v1/sockets/<id> and the session in state created")
    func createAnswers201WithLocation() async throws {
        try await withTestService { service in
            let response = try await service.request(
                "POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "label": "echo-client"])
            #expect(response.status == 201, "body: \(response.text)")
            let socket = try #require(response.json, "body: \(response.text)")
            let id = try #require(socket["id"] as? String)
            #expect(id.hasPrefix("sk_"))
            // Exactly the path: not percent-encoded, not absolute.
            #expect(response.header("Location") == "/v1/sockets/\(id)")
            #expect(socket["family"] as? String == "inet")
            #expect(socket["type"] as? String == "stream")
            #expect(socket["protocol"] as? String == "tcp")
            #expect(socket["state"] as? String == "created")
            #expect(socket["label"] as? String == "echo-client")
            #expect(isRFC3339WithMilliseconds(socket["created_at"] as? String), "created_at: \(String(describing: socket["created_at"]))")
            #expect(socket["closed_at"] == nil || socket["closed_at"] is NSNull)
            let counters = try #require(socket["counters"] as? [String: Any])
            for name in ["bytes_sent", "bytes_received", "messages_sent", "messages_received"] {
                #expect(counters[name] as? Int == 0, "counter \(name)")
            }
        }
    }

    /// The protocol defaults from the type, and is `default` for Unix sockets.
    @Test("the protocol defaults to udp for inet dgram and to default for unix")
    func protocolDefaultsFromFamilyAndType() async throws {
        try await withTestService { service in
            let udp = try #require(try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram"]).json)
            #expect(udp["protocol"] as? String == "udp")
            let unix = try #require(try await service.request("POST", "/v1/sockets", json: ["family": "unix", "type": "stream"]).json)
            #expect(unix["protocol"] as? String == "default")
            let v6 = try #require(try await service.request("POST", "/v1/sockets", json: ["family": "inet6", "type": "stream"]).json)
            #expect(v6["protocol"] as? String == "tcp")
        }
    }

    /// Reading an open socket returns what creation returned (plus its live options).
    @Test("getting a socket returns the same session creation returned")
    func getReturnsTheCreatedSession() async throws {
        try await withTestService { service in
            let created = try #require(try await service.request(
                "POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "label": "same"]).json)
            let id = try #require(created["id"] as? String)
            let response = try await service.request("GET", "/v1/sockets/\(id)")
            #expect(response.status == 200, "body: \(response.text)")
            var fetched = try #require(response.json)
            // An open socket's options are read from the kernel at each GET; the session is otherwise the same.
            let options = fetched.removeValue(forKey: "options") as? [String: Any]
            #expect(NSDictionary(dictionary: fetched).isEqual(to: created.filter { $0.key != "options" }),
                    "created \(created), fetched \(fetched)")
            if let options { #expect(options["so_type"] as? String == "stream") }
        }
    }

    /// The list holds every session, newest first.
    @Test("listing sockets shows every session, newest first")
    func listIsNewestFirst() async throws {
        try await withTestService { service in
            var ids: [String] = []
            for index in 0..<3 {
                let created = try #require(try await service.request(
                    "POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "label": "n\(index)"]).json)
                ids.append(try #require(created["id"] as? String))
            }
            let response = try await service.request("GET", "/v1/sockets")
            #expect(response.status == 200, "body: \(response.text)")
            let page = try #require(response.json)
            #expect(itemIDs(page) == ids.reversed())
            #expect(page["next_cursor"] == nil, "one page holds everything: no next_cursor")
        }
    }

    /// Close is idempotent, and a closed session stays readable as history, with both events recorded —
    /// in the API and in the SQLite file itself.
    @Test("closing answers 204 twice, leaves a closed session with reason client, and records create and close events")
    func closeIsIdempotentAndRecorded() async throws {
        try await withTestService { service in
            let created = try #require(try await service.request(
                "POST", "/v1/sockets", json: ["family": "inet", "type": "stream", "label": "to-close"]).json)
            let id = try #require(created["id"] as? String)

            let first = try await service.request("DELETE", "/v1/sockets/\(id)")
            #expect(first.status == 204, "body: \(first.text)")
            #expect(first.body.isEmpty)
            let second = try await service.request("DELETE", "/v1/sockets/\(id)")
            #expect(second.status == 204, "body: \(second.text)")

            let response = try await service.request("GET", "/v1/sockets/\(id)")
            #expect(response.status == 200, "body: \(response.text)")
            let closed = try #require(response.json)
            #expect(closed["state"] as? String == "closed")
            #expect(closed["close_reason"] as? String == "client")
            #expect(isRFC3339WithMilliseconds(closed["closed_at"] as? String), "closed_at: \(String(describing: closed["closed_at"]))")
            #expect(closed["created_at"] as? String == created["created_at"] as? String)
            #expect(closed["label"] as? String == "to-close")

            let eventsResponse = try await service.request("GET", "/v1/sockets/\(id)/events")
            #expect(eventsResponse.status == 200, "body: \(eventsResponse.text)")
            let events = try #require(eventsResponse.json?["items"] as? [[String: Any]])
            // Newest first, and the second DELETE recorded nothing.
            #expect(events.map { $0["op"] as? String } == ["close", "create"])
            for event in events {
                #expect(event["outcome"] as? String == "ok")
                #expect(event["socket_id"] as? String == id)
                #expect(isRFC3339WithMilliseconds(event["at"] as? String))
            }
            let createArgs = events.last?["args"] as? [String: Any]
            #expect(createArgs?["family"] as? String == "inet")
            #expect(createArgs?["protocol"] as? String == "tcp")
            #expect((events.first?["result"] as? [String: Any])?["reason"] as? String == "client")

            let database = try service.openDatabase()
            defer { try? database.close() }
            let rows = try database.read { db in
                try db.query("SELECT state, close_reason, closed_at, label FROM sockets WHERE id = ?", [.text(id)])
            }
            #expect(rows.count == 1)
            #expect(rows.first?["state"].string == "closed")
            #expect(rows.first?["close_reason"].string == "client")
            #expect(rows.first?["closed_at"].int != nil)
            #expect(rows.first?["label"].string == "to-close")
            let eventRows = try database.read { db in
                try db.query("SELECT op, outcome, result FROM events WHERE socket_id = ? ORDER BY id", [.text(id)])
            }
            #expect(eventRows.map { $0["op"].string } == ["create", "close"])
            #expect(eventRows.map { $0["outcome"].string } == ["ok", "ok"])
            #expect(eventRows.last?["result"].string == #"{"reason":"client"}"#)
        }
    }

    /// A socket's events page like every list.
    @Test("a socket's events page with limit and cursor, oldest first with order=asc")
    func eventsPage() async throws {
        try await withTestService { service in
            let created = try #require(try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram"]).json)
            let id = try #require(created["id"] as? String)
            #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)

            let first = try #require(try await service.request("GET", "/v1/sockets/\(id)/events?limit=1").json)
            let firstOps = (first["items"] as? [[String: Any]])?.map { $0["op"] as? String }
            #expect(firstOps == ["close"])
            let cursor = try #require(first["next_cursor"] as? String)
            let second = try #require(try await service.request("GET", "/v1/sockets/\(id)/events?limit=1&cursor=\(cursor)").json)
            #expect((second["items"] as? [[String: Any]])?.map { $0["op"] as? String } == ["create"])
            #expect(second["next_cursor"] == nil)

            let ascending = try #require(try await service.request("GET", "/v1/sockets/\(id)/events?order=asc").json)
            #expect((ascending["items"] as? [[String: Any]])?.map { $0["op"] as? String } == ["create", "close"])
        }
    }
}
