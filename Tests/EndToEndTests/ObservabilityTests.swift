import Foundation
import Testing

extension EndToEndTests {
    /// `GET /v1/stats`, `GET /metrics` and CORS, through the real service.
    @Suite struct ObservabilityTests {
        /// The value of the sample `name{labels}` in a Prometheus exposition (labels as rendered, sorted by us).
        static func sample(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                guard parts.count == 2 else { continue }
                let series = String(parts[0])
                let brace = series.firstIndex(of: "{")
                guard String(series[..<(brace ?? series.endIndex)]) == name else { continue }
                var found: [String: String] = [:]
                if let brace {
                    for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                        let kv = pair.split(separator: "=", maxSplits: 1)
                        found[String(kv[0])] = String(kv[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    }
                }
                if labels.allSatisfy({ found[$0.key] == $0.value }) { return Double(parts[1]) }
            }
            return nil
        }

        @Test("Stats show open sockets by kind and state, the last minute's operations, errors and bytes")
        func statsMoveWithOperations() async throws {
            try await withService { service in
                let a = try await service.createSocketID(family: "inet", type: "dgram")
                let b = try await service.createSocketID(family: "inet", type: "dgram")
                let bound = try await service.bind(b, ["host": "127.0.0.1", "port": 0])
                let port = try #require((bound["local_address"] as? [String: Any])?["port"] as? Int)
                try await service.send(a, "hello", to: ["host": "127.0.0.1", "port": port])
                _ = try await service.receive(b)
                #expect(try await service.request("POST", "/v1/sockets/\(a)/listen", json: [String: Any]()).status == 409)
                _ = try await service.createSocketID(family: "inet6", type: "stream")

                let response = try await service.request("GET", "/v1/stats")
                let stats = try #require(response.json)
                let sockets = try #require(stats["sockets"] as? [String: Any])
                #expect(sockets["open"] as? Int == 3)
                let kinds = (sockets["by_kind"] as? [[String: Any]] ?? []).map {
                    "\($0["family"] ?? "")/\($0["type"] ?? "")/\($0["state"] ?? "")=\($0["count"] ?? "")"
                }
                #expect(Set(kinds) == ["inet/dgram/created=1", "inet/dgram/bound=1", "inet6/stream/created=1"])
                let minute = try #require((stats["operations"] as? [String: Any])?["last_minute"] as? [String: Any])
                // create ×3, bind, send, receive, listen (refused).
                #expect(minute["operations"] as? Int == 7)
                #expect(minute["errors"] as? Int == 1)
                #expect(minute["bytes_sent"] as? Int == 5 && minute["bytes_received"] as? Int == 5)
                let bytes = try #require(stats["bytes"] as? [String: Any])
                #expect(bytes["sent"] as? Int == 5 && bytes["received"] as? Int == 5)
                let streams = try #require(stats["event_streams"] as? [String: Any])
                let newest = try service.history { try $0.scalar("SELECT max(id) FROM events")?.int }
                #expect((streams["last_event_id"] as? String).flatMap(Int64.init) == newest, "event ids are strings everywhere")
            }
        }

        @Test("Metrics counters move with operations; gauges show open sockets and the database size")
        func metricsMoveWithOperations() async throws {
            try await withService { service in
                func scrape() async throws -> String {
                    let response = try await service.request("GET", "/metrics")
                    try #require(response.status == 200)
                    #expect(response.headers["content-type"]?.hasPrefix("text/plain") == true)
                    return String(decoding: response.body, as: UTF8.self)
                }
                let id = try await service.createSocketID(family: "inet", type: "dgram")
                let before = try await scrape()
                #expect(Self.sample(before, "sockpit_operations_total", ["op": "create", "outcome": "ok"]) == 1)
                #expect(Self.sample(before, "sockpit_open_sockets", ["family": "inet", "type": "dgram"]) == 1)
                try await service.send(id, "twelve bytes", to: ["host": "127.0.0.1", "port": 9])
                _ = try await service.createSocketID(family: "inet", type: "dgram")
                #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)
                let after = try await scrape()
                #expect(Self.sample(after, "sockpit_operations_total", ["op": "create", "outcome": "ok"]) == 2)
                #expect(Self.sample(after, "sockpit_operations_total", ["op": "send", "outcome": "ok"]) == 1)
                #expect(Self.sample(after, "sockpit_bytes_sent_total") == 12)
                #expect(Self.sample(after, "sockpit_open_sockets", ["family": "inet", "type": "dgram"]) == 1)
                #expect((Self.sample(after, "sockpit_database_size_bytes") ?? 0) > 0)
                // The first scrape itself was timed by route and status.
                #expect((Self.sample(after, "sockpit_http_request_duration_seconds_count",
                                     ["route": "/metrics", "method": "GET", "status": "200"]) ?? 0) >= 1)
                #expect((Self.sample(after, "sockpit_http_request_duration_seconds_count",
                                     ["route": "/v1/sockets", "method": "POST", "status": "201"]) ?? 0) == 2)
            }
        }

        @Test("A probe is timed in the probe duration histogram by kind and outcome")
        func probeDurationHistogram() async throws {
            try await withService { service in
                let listener = try PlainSocket()
                try listener.bindLoopback()
                try listener.listen()
                let port = try listener.localPort()
                let response = try await service.request("POST", "/v1/probes", json: ["kind": "tcp", "target": "127.0.0.1", "ports": port])
                try #require(response.status == 201 || response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
                let text = String(decoding: try await service.request("GET", "/metrics").body, as: UTF8.self)
                #expect(Self.sample(text, "sockpit_probe_duration_seconds_count", ["kind": "tcp", "outcome": "success"]) == 1)
            }
        }

        @Test("CORS: a preflight from an allowed origin succeeds without the token; another origin gets no CORS headers")
        func corsThroughTheService() async throws {
            var options = ServiceOptions()
            options.token = "secret-token"
            options.corsOrigins = ["http://dash.example:3000"]
            try await withService(options) { service in
                let preflight = try await offload {
                    try EventStreamClient(port: service.port, target: "/v1/events/stream", method: "OPTIONS", headers: [
                        ("Origin", "http://dash.example:3000"), ("Access-Control-Request-Method", "GET"),
                        ("Access-Control-Request-Headers", "authorization, last-event-id"),
                    ])
                }
                defer { preflight.close() }
                #expect(preflight.status == 204)
                #expect(preflight.headers["access-control-allow-origin"] == "http://dash.example:3000")
                #expect(preflight.headers["access-control-allow-methods"]?.contains("GET") == true)
                #expect(preflight.headers["access-control-allow-headers"]?.contains("last-event-id") == true)

                let stream = try await offload {
                    try EventStreamClient(port: service.port, target: "/v1/events/stream",
                                          headers: [("Origin", "http://dash.example:3000")], token: service.token)
                }
                defer { stream.close() }
                #expect(stream.status == 200)
                #expect(stream.headers["access-control-allow-origin"] == "http://dash.example:3000")

                let unauthorized = try await offload {
                    try EventStreamClient(port: service.port, target: "/v1/stats", headers: [("Origin", "http://dash.example:3000")])
                }
                defer { unauthorized.close() }
                #expect(unauthorized.status == 401)
                #expect(unauthorized.headers["access-control-allow-origin"] == "http://dash.example:3000")

                // EventSource cannot send headers: the stream (and only the stream) takes ?access_token=.
                let queryToken = try await offload {
                    try EventStreamClient(port: service.port, target: "/v1/events/stream?access_token=secret-token",
                                          headers: [("Origin", "http://dash.example:3000")])
                }
                defer { queryToken.close() }
                #expect(queryToken.status == 200)
                for target in ["/v1/events/stream?access_token=wrong", "/v1/stats?access_token=secret-token"] {
                    let refused = try await offload { try EventStreamClient(port: service.port, target: target) }
                    defer { refused.close() }
                    #expect(refused.status == 401, "\(target)")
                }

                let other = try await offload {
                    try EventStreamClient(port: service.port, target: "/v1/stats", method: "OPTIONS", headers: [
                        ("Origin", "http://evil.example"), ("Access-Control-Request-Method", "GET"),
                    ])
                }
                defer { other.close() }
                #expect(other.status != 204)
                #expect(!other.headers.keys.contains { $0.hasPrefix("access-control-") })
            }
        }
    }
}
