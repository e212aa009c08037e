import Foundation
import Testing

extension EndToEndTests {
    /// The socket operations of a lifecycle are answered by direct routes (SockpitAPI `directRoutes`), which
    /// call the same handlers without the OpenAPI runtime in between. A query string makes them step aside, so
    /// every answer here is compared with the generated server's for the same request.
    @Suite struct DirectRouteTests {
        /// The key sets of a JSON object, recursively (values differ between two sockets; the shape must not).
        static func shape(_ value: Any?) -> [String] {
            guard let object = value as? [String: Any] else { return [] }
            return object.keys.sorted().flatMap { key in [key] + shape(object[key]).map { "\(key).\($0)" } }
        }

        @Test("Each lifecycle operation answers as the generated handler does: status, headers, body format")
        func directAnswersMatchTheHandler() async throws {
            try await withService { service in
                let listener = try await service.tcpListener()
                var pairs: [(client: String, server: String)] = []
                for via in ["", "?via=handler"] {
                    let created = try await service.request("POST", "/v1/sockets\(via)", json: ["family": "inet", "type": "stream"])
                    #expect(created.status == 201)
                    let id = try #require(created.json?["id"] as? String)
                    #expect(created.header("location") == "/v1/sockets/\(id)")
                    let connected = try await service.request(
                        "POST", "/v1/sockets/\(id)/connect\(via)", json: ["address": listener.address.json, "timeout_ms": 2000])
                    #expect(connected.status == 200 && connected.json?["state"] as? String == "connected")
                    let accepted = try await service.request("POST", "/v1/sockets/\(listener.id)/accept\(via)", json: ["timeout_ms": 2000])
                    #expect(accepted.status == 201)
                    let server = try #require(accepted.json?["id"] as? String)
                    #expect(accepted.header("location") == "/v1/sockets/\(server)")
                    pairs.append((id, server))
                    for response in [created, connected, accepted] {
                        #expect(response.header("content-type") == "application/json; charset=utf-8")
                        #expect(response.text.hasPrefix("{\n  \""), "pretty, as the generated server writes: \(response.text)")
                    }
                }
                let (direct, handler) = (pairs[0], pairs[1])
                #expect(Self.shape(try await service.socket(direct.client)) == Self.shape(try await service.socket(handler.client)))

                // Send, receive and shutdown answers hold no ids: byte for byte the same.
                for (pair, via) in [(direct, ""), (handler, "?via=handler")] {
                    let sent = try await service.request("POST", "/v1/sockets/\(pair.client)/send\(via)", json: ["data": "ping/1", "encoding": "utf8"])
                    #expect(sent.status == 200 && sent.text == "{\n  \"bytes_sent\" : 6\n}", "\(sent.text)")
                    let received = try await service.request(
                        "POST", "/v1/sockets/\(pair.server)/receive\(via)", json: ["max_bytes": 6, "timeout_ms": 2000])
                    #expect(received.status == 200)
                    #expect(received.json?["data"] as? String == "ping/1" && received.text.contains("\"ping/1\""), "slashes unescaped")
                    let shut = try await service.request("POST", "/v1/sockets/\(pair.client)/shutdown\(via)", json: ["how": "write"])
                    #expect(shut.status == 200 && shut.json?["state"] as? String != nil)
                }
                let timedOut = try await service.request("POST", "/v1/sockets/\(listener.id)/accept", json: ["timeout_ms": 0])
                let timedOutHandler = try await service.request("POST", "/v1/sockets/\(listener.id)/accept?via=handler", json: ["timeout_ms": 0])
                #expect(timedOut.status == 200 && timedOut.body == timedOutHandler.body, "\(timedOut.text)")
                for id in [direct.client, direct.server] { #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204) }
                for id in [handler.client, handler.server] {
                    #expect(try await service.request("DELETE", "/v1/sockets/\(id)?via=handler").status == 204)
                }
                // The direct route ran each operation once: one event per call, counters once.
                try service.history { db throws in
                    for pair in [direct, handler] {
                        #expect(try db.events(of: pair.client).map(\.op) == ["create", "connect", "send", "shutdown", "close"])
                        #expect(try db.events(of: pair.server).map(\.op) == ["accepted", "receive", "close"])
                        #expect(try db.socketRow(pair.client)?["bytes_sent"].int == 6)
                    }
                }
            }
        }

        @Test("Errors from a direct route are the handler's problems, byte for byte")
        func directProblemsMatchTheHandler() async throws {
            try await withService { service in
                let dgram = try await service.createSocketID(family: "inet", type: "dgram")
                let closedPort = try PlainSocket()
                try closedPort.bindLoopback()
                let port = try closedPort.localPort()
                closedPort.close()
                let cases: [(String, String, [String: Any]?, Int)] = [
                    ("POST", "/v1/sockets/no-such-socket/connect", ["address": ["host": "127.0.0.1", "port": 9]], 404),
                    ("DELETE", "/v1/sockets/no-such-socket", nil, 404),
                    ("POST", "/v1/sockets/\(dgram)/listen", ["backlog": 4], 409),
                    ("POST", "/v1/sockets/\(dgram)/send", ["data": "***", "encoding": "base64"], 400),
                    ("POST", "/v1/sockets", ["family": "inet", "type": "seqpacket", "protocol": "udp"], 0),
                ]
                for (method, path, json, status) in cases {
                    let direct = try await service.request(method, path, json: json)
                    let handler = try await service.request(method, path + "?via=handler", json: json)
                    if status != 0 { #expect(direct.status == status, "\(path): \(direct.text)") }
                    #expect(direct.status >= 400 && direct.status == handler.status, "\(path): \(direct.text)")
                    #expect(direct.header("content-type") == handler.header("content-type"))
                    #expect(direct.body == handler.body, "\(path):\n\(direct.text)\n\(handler.text)")
                }
                let tcp = try await service.createSocketID(family: "inet", type: "stream")
                let refused = try await service.request(
                    "POST", "/v1/sockets/\(tcp)/connect", json: ["address": ["host": "127.0.0.1", "port": port], "timeout_ms": 2000])
                try expectProblem(refused, status: 502, errno: "ECONNREFUSED")
            }
        }

        @Test("Requests a direct route does not take get the generated server's answers, and change nothing")
        func unusualRequestsGoToTheHandler() async throws {
            try await withService { service in
                let id = try await service.createSocketID(family: "inet", type: "dgram")
                let before = try service.history { db throws in try db.events(of: id).count }
                let path = "/v1/sockets/\(id)/bind"
                try expectProblem(try await service.request("POST", path, raw: "{\"address\":", contentType: "application/json"),
                                  status: 400, kind: "malformed-json")
                try expectProblem(try await service.request("POST", path, raw: "{\"address\":{\"host\":\"127.0.0.1\",\"port\":0},\"bogus\":1}",
                                                            contentType: "application/json"), status: 400, kind: "validation")
                try expectProblem(try await service.request("POST", path, raw: "{\"address\":{\"host\":\"127.0.0.1\",\"port\":1.5}}",
                                                            contentType: "application/json"), status: 400, kind: "validation", field: "port")
                try expectProblem(try await service.request("POST", path, raw: "{\"address\":{\"host\":\"127.0.0.1\",\"port\":0}}",
                                                            contentType: "text/plain"), status: 415)
                let after = try service.history { db throws in try db.events(of: id).count }
                let ops = try service.history { db throws in try db.events(of: id).map(\.description) }
                #expect(after == before, "refused requests recorded nothing: \(ops)")
                #expect(try await service.socket(id)["state"] as? String == "created")
            }
        }

        @Test("With a token, direct routes take only authorized requests; others get the handler's 401")
        func directRoutesKeepAuth() async throws {
            var options = ServiceOptions()
            options.token = "direct-token"
            try await withService(options) { service in
                let anonymous = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream"], authorized: false)
                try expectProblem(anonymous, status: 401)
                let created = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream"])
                #expect(created.status == 201)
                let id = try #require(created.json?["id"] as? String)
                try expectProblem(try await service.request("DELETE", "/v1/sockets/\(id)", authorized: false), status: 401)
                #expect(try await service.request("DELETE", "/v1/sockets/\(id)").status == 204)
            }
        }
    }
}
