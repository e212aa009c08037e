import Foundation
import SockpitCore
import Storage
import Testing

extension EndToEndTests {
    /// `GET /v1/events/stream`: live events, resumption by id with no gap and no duplicate, filters, heartbeats.
    @Suite struct EventStreamTests {
        /// Opens a stream on `target` and checks the greeting.
        static func open(_ service: Service, _ target: String = "/v1/events/stream",
                         headers: [(String, String)] = []) async throws -> EventStreamClient {
            let client = try await offload {
                try EventStreamClient(port: service.port, target: target, headers: headers, token: service.token)
            }
            #expect(client.status == 200)
            #expect(client.headers["content-type"]?.hasPrefix("text/event-stream") == true)
            let greeting = try await offload { try client.next() }
            #expect(greeting?.retry == "2000" && greeting?.comments == ["connected"])
            return client
        }

        /// The next `count` event frames' ids and ops.
        static func events(_ client: EventStreamClient, count: Int) async throws -> [(id: Int64, op: String)] {
            try await offload {
                var events: [(id: Int64, op: String)] = []
                while events.count < count, let frame = try client.nextEvent() {
                    guard let id = frame.id.flatMap({ Int64($0) }), let op = frame.json?["op"] as? String else {
                        Issue.record("unexpected frame \(frame)")
                        break
                    }
                    #expect(frame.json?["id"] as? String == frame.id)
                    events.append((id, op))
                }
                return events
            }
        }

        /// Every event id in history after `id`, ascending, straight from SQLite.
        static func historyIDs(_ service: Service, after id: Int64, op: String? = nil) throws -> [Int64] {
            try service.history { db in
                if let op {
                    return try db.query("SELECT id FROM events WHERE id > ? AND op = ? ORDER BY id", [.integer(id), .text(op)]).compactMap { $0["id"].int }
                }
                return try db.query("SELECT id FROM events WHERE id > ? ORDER BY id", [.integer(id)]).compactMap { $0["id"].int }
            }
        }

        @Test("A subscriber receives create, bind and close live, ids ascending, data as in GET /v1/events")
        func liveEventsArrive() async throws {
            try await withService { service in
                let client = try await Self.open(service)
                defer { client.close() }
                let id = try await service.createSocketID(family: "inet", type: "dgram")
                try await service.bind(id, ["host": "127.0.0.1", "port": 0])
                #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)
                let events = try await Self.events(client, count: 3)
                #expect(events.map(\.op) == ["create", "bind", "close"])
                #expect(events.map(\.id) == (try Self.historyIDs(service, after: 0)))
            }
        }

        @Test("Reconnecting with Last-Event-ID replays exactly the missed events, then goes live without duplicates")
        func resumeAfterDisconnect() async throws {
            try await withService { service in
                let first = try await Self.open(service)
                let id = try await service.createSocketID(family: "inet", type: "dgram")
                let seen = try await Self.events(first, count: 1)
                first.close()
                let lastSeen = try #require(seen.first?.id)

                // Missed while disconnected: 20 operations.
                try await service.bind(id, ["host": "127.0.0.1", "port": 0])
                for index in 0..<18 { try await service.send(id, "missed-\(index)", to: ["host": "127.0.0.1", "port": 9]) }
                let other = try await service.createSocketID(family: "inet6", type: "stream")
                let missed = try Self.historyIDs(service, after: lastSeen)
                #expect(missed.count == 20)

                let second = try await Self.open(service, headers: [("Last-Event-ID", String(lastSeen))])
                defer { second.close() }
                let replayed = try await Self.events(second, count: missed.count)
                #expect(replayed.map(\.id) == missed)

                // Then live: exactly the new events, nothing replayed twice.
                #expect(try await service.request("DELETE", "/v1/sockets/\(other)").status == 204)
                #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)
                let live = try await Self.events(second, count: 2)
                #expect(live.map(\.op) == ["close", "close"])
                #expect(live.map(\.id) == (try Self.historyIDs(service, after: missed.last ?? 0)))
            }
        }

        @Test("after=0 in the query replays all history; the Last-Event-ID header wins over the query")
        func queryResumeAndHeaderPrecedence() async throws {
            try await withService { service in
                for _ in 0..<3 { _ = try await service.createSocketID(family: "inet", type: "dgram") }
                let all = try Self.historyIDs(service, after: 0)
                let fromZero = try await Self.open(service, "/v1/events/stream?after=0")
                #expect(try await Self.events(fromZero, count: all.count).map(\.id) == all)
                fromZero.close()

                let headerWins = try await Self.open(service, "/v1/events/stream?after=0",
                                                     headers: [("Last-Event-ID", String(all[1]))])
                defer { headerWins.close() }
                #expect(try await Self.events(headerWins, count: 1).map(\.id) == [all[2]])
            }
        }

        @Test("Filters apply to the replay and to live events")
        func filtersApply() async throws {
            try await withService { service in
                let id = try await service.createSocketID(family: "inet", type: "dgram")
                try await service.bind(id, ["host": "127.0.0.1", "port": 0])
                let client = try await Self.open(service, "/v1/events/stream?op=close&after=0")
                defer { client.close() }
                let other = try await service.createSocketID(family: "inet", type: "dgram")
                #expect(try await service.request("DELETE", "/v1/sockets/\(other)").status == 204)
                #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)
                let events = try await Self.events(client, count: 2)
                #expect(events.map(\.op) == ["close", "close"])
                #expect(events.map(\.id) == (try Self.historyIDs(service, after: 0, op: "close")))
            }
        }

        @Test("An idle stream gets heartbeat comments")
        func heartbeats() async throws {
            var options = ServiceOptions()
            options.streams = StreamSettings(heartbeatInterval: .milliseconds(200))
            try await withService(options) { service in
                let client = try await Self.open(service)
                defer { client.close() }
                let frame = try await offload { try client.next() }
                #expect(frame?.comments == ["heartbeat"] && frame?.id == nil && frame?.data == nil)
            }
        }

        @Test("With a longest stream life, the stream ends with reason max-duration and the last id sent")
        func maxDurationEndsStream() async throws {
            var options = ServiceOptions()
            options.streams = StreamSettings(maxDuration: .milliseconds(300))
            try await withService(options) { service in
                _ = try await service.createSocketID(family: "inet", type: "dgram")
                let client = try await Self.open(service, "/v1/events/stream?after=0")
                defer { client.close() }
                #expect(try await Self.events(client, count: 1).map(\.id) == [1])
                let end = try await offload { try client.nextEvent() }
                #expect(end?.event == "end" && end?.json?["reason"] as? String == "max-duration")
                #expect(end?.json?["last_event_id"] as? String == "1")
                #expect(try await offload { try client.next() } == nil)
            }
        }

        @Test("Beyond --sse-max-subscribers open streams, a new one is a 429 problem; closing one makes room")
        func subscriberLimit() async throws {
            var options = ServiceOptions()
            // Short heartbeats: a closed client is noticed when a write to it fails (the first one after the close
            // may still be accepted by the kernel).
            options.streams = StreamSettings(heartbeatInterval: .milliseconds(50), maxSubscribers: 2)
            try await withService(options) { service in
                let first = try await Self.open(service)
                let second = try await Self.open(service)
                defer { second.close() }
                let refused = try await offload { try EventStreamClient(port: service.port, target: "/v1/events/stream") }
                defer { refused.close() }
                #expect(refused.status == 429)
                #expect(refused.headers["content-type"]?.hasPrefix("application/problem+json") == true)
                first.close()
                var admitted: EventStreamClient?
                for _ in 0..<2000 where admitted == nil {
                    let attempt = try await offload { try EventStreamClient(port: service.port, target: "/v1/events/stream") }
                    if attempt.status == 200 { admitted = attempt } else { attempt.close(); _ = try await service.request("GET", "/v1/health") }
                }
                #expect(admitted != nil, "a stream is admitted once one has closed")
                admitted?.close()
            }
        }

        @Test("A bad Last-Event-ID is a 400 problem naming it, and nothing is streamed")
        func badLastEventID() async throws {
            try await withService { service in
                for (target, headers) in [
                    ("/v1/events/stream", [("Last-Event-ID", "abc")]),
                    ("/v1/events/stream?after=-1", []),
                ] {
                    let client = try await offload { try EventStreamClient(port: service.port, target: target, headers: headers) }
                    defer { client.close() }
                    #expect(client.status == 400, "\(target) \(headers)")
                    #expect(client.headers["content-type"]?.hasPrefix("application/problem+json") == true)
                }
            }
        }

        @Test("Stopping the server ends a stream with an end event naming server-shutdown")
        func shutdownEndsStream() async throws {
            try await withService { service in
                let client = try await Self.open(service)
                defer { client.close() }
                _ = try await service.createSocketID(family: "inet", type: "dgram")
                #expect(try await Self.events(client, count: 1).count == 1)
                await service.stop()
                let end = try await offload { try client.nextEvent() }
                #expect(end?.event == "end")
                #expect(end?.json?["reason"] as? String == "server-shutdown")
                #expect(end?.json?["last_event_id"] as? String == "1")
            }
        }
    }
}
