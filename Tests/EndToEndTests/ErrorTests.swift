import Foundation
import Testing

extension EndToEndTests {
    /// Failures answer the documented status with a problem document naming the errno, field or state.
    @Suite struct ErrorTests {
        /// The kernel's errno name reaches the client (STYLE.md rule 9) as a network failure.
        @Test("connect to a closed port answers 502 with errno ECONNREFUSED")
        func connectToClosedPortReportsECONNREFUSED() async throws {
            try await withService { service in
                // Bound but not listening: the port stays ours, and the kernel refuses connections to it.
                let closed = try PlainSocket()
                try closed.bindLoopback()
                let port = try closed.localPort()
                let client = try await service.createSocketID(family: "inet", type: "stream")
                let response = try await service.request("POST", "/v1/sockets/\(client)/connect",
                                                          json: ["address": ["host": "127.0.0.1", "port": port]])
                try expectProblem(response, status: 502, kind: "network", errno: "ECONNREFUSED")
            }
        }

        /// A connect that timed out is given up in the kernel too: left in SYN_SENT, it would complete later (the
        /// next SYN once the listener has room) while its history says the socket never connected.
        @Test("a connect that times out is abandoned: 504, and the kernel holds no handshake for it")
        func timedOutConnectIsAbandoned() async throws {
            try await withService { service in
                let listener = try await service.createSocketID(family: "inet", type: "stream")
                let bound = try await service.bind(listener, ["host": "127.0.0.1", "port": 0])
                let port = try #require((bound["local_address"] as? [String: Any])?["port"] as? Int)
                _ = try await service.expecting(200, "POST", "/v1/sockets/\(listener)/listen", ["backlog": 0])
                let first = try await service.createSocketID(family: "inet", type: "stream")
                try await service.connect(first, ["host": "127.0.0.1", "port": port])  // fills the accept queue
                let second = try await service.createSocketID(family: "inet", type: "stream")
                let response = try await service.request("POST", "/v1/sockets/\(second)/connect",
                                                          json: ["address": ["host": "127.0.0.1", "port": port], "timeout_ms": 300])
                try expectProblem(response, status: 504)
                let table = try await service.expecting(200, "GET", "/v1/host/sockets?protocol=tcp&port=\(port)&limit=1000", nil)
                let mine = (table["items"] as? [[String: Any]] ?? []).filter { $0["managed_socket_id"] as? String == second }
                #expect(mine.isEmpty, "the abandoned connect left \(mine.map { $0["state"] ?? "?" })")
                #expect(try await service.socket(second)["state"] as? String == "created")
            }
        }

        /// shutdown(write) on a listener does nothing in the kernel: it goes on listening, and so says its state.
        @Test("shutdown write on a TCP listener leaves it listening: the state says so, and it still accepts")
        func shutdownWriteOnListenerKeepsListening() async throws {
            try await withService { service in
                let listener = try await service.createSocketID(family: "inet", type: "stream")
                let bound = try await service.bind(listener, ["host": "127.0.0.1", "port": 0])
                let port = try #require((bound["local_address"] as? [String: Any])?["port"] as? Int)
                try await service.listen(listener)
                let shut = try await service.expecting(200, "POST", "/v1/sockets/\(listener)/shutdown", ["how": "write"])
                #expect(shut["state"] as? String == "listening", "\(shut["state"] ?? "-")")
                let client = try await service.createSocketID(family: "inet", type: "stream")
                try await service.connect(client, ["host": "127.0.0.1", "port": port])
                _ = try await service.accept(listener)
            }
        }

        /// A kernel refusal that depends on the socket's kind is a conflict naming the state and the type.
        @Test("listen on a datagram socket answers 409 with errno EOPNOTSUPP and the socket's state")
        func listenOnDatagramSocketIsConflict() async throws {
            try await withService { service in
                let socket = try await service.createSocketID(family: "inet", type: "dgram")
                let response = try await service.request("POST", "/v1/sockets/\(socket)/listen", json: [:])
                let problem = try expectProblem(response, status: 409, kind: "invalid-state", errno: "EOPNOTSUPP", state: "created")
                #expect((problem["detail"] as? String)?.contains("dgram") == true, "the detail names the type: \(problem)")
            }
        }

        /// Ids that never existed are 404 everywhere, not 409 or an empty answer.
        @Test("an unknown socket id answers 404 for every operation")
        func unknownIDIsNotFound() async throws {
            try await withService { service in
                let id = "sk_doesnotexist"
                let calls: [(String, String, Any?)] = [
                    ("GET", "/v1/sockets/\(id)", nil), ("DELETE", "/v1/sockets/\(id)", nil),
                    ("GET", "/v1/sockets/\(id)/events", nil), ("GET", "/v1/sockets/\(id)/options", nil),
                    ("POST", "/v1/sockets/\(id)/send", ["data": "x"]), ("POST", "/v1/sockets/\(id)/receive", [:] as [String: Any]),
                    ("POST", "/v1/sockets/\(id)/bind", ["address": ["host": "127.0.0.1", "port": 0]]),
                ]
                for (method, path, body) in calls {
                    let response = try await service.request(method, path, json: body)
                    try expectProblem(response, status: 404, kind: "not-found")
                }
            }
        }

        /// The server never guesses an encoding: malformed payloads are refused before anything is sent.
        @Test("bad base64 in a send answers 400 naming data, and nothing is sent")
        func badBase64IsRefused() async throws {
            try await withService { service in
                let connection = try await service.tcpConnection()
                let response = try await service.request("POST", "/v1/sockets/\(connection.client)/send",
                                                          json: ["data": "not*base64!", "encoding": "base64"])
                try expectProblem(response, status: 400, kind: "validation", field: "data")
                let hexResponse = try await service.request("POST", "/v1/sockets/\(connection.client)/send",
                                                             json: ["data": "abc", "encoding": "hex"])
                try expectProblem(hexResponse, status: 400, kind: "validation", field: "data")
                #expect(try await service.receive(connection.server, timeoutMs: 0)["timed_out"] as? Bool == true)
            }
        }

        /// The options schema forbids unknown names (additionalProperties: false) and the server enforces it.
        @Test("an unknown option in PATCH /options answers 400 naming it, and sets nothing")
        func unknownOptionIsRefused() async throws {
            try await withService { service in
                let socket = try await service.createSocketID(family: "inet", type: "stream")
                let response = try await service.request("PATCH", "/v1/sockets/\(socket)/options",
                                                          json: ["tcp_nodelay": true, "so_bogus": true])
                try expectProblem(response, status: 400, kind: "validation", field: "so_bogus")
                let options = try await service.expecting(200, "GET", "/v1/sockets/\(socket)/options", nil)
                #expect(options["tcp_nodelay"] as? Bool == false, "a refused PATCH sets nothing")
            }
        }

        /// Port ranges are checked by the service, naming the JSON path of the bad field.
        @Test("port 70000 answers 400 naming address.port, for bind and connect")
        func outOfRangePortIsRefused() async throws {
            try await withService { service in
                let socket = try await service.createSocketID(family: "inet", type: "stream")
                for operation in ["bind", "connect"] {
                    let response = try await service.request("POST", "/v1/sockets/\(socket)/\(operation)",
                                                              json: ["address": ["host": "127.0.0.1", "port": 70000]])
                    try expectProblem(response, status: 400, kind: "validation", field: "address.port")
                }
                #expect(try await service.socket(socket)["state"] as? String == "created")
            }
        }

        /// The target policy is checked before the kernel is asked, for connect and for send-to.
        @Test("a target denied by a --deny-target rule answers 403 for connect and send-to; others stay allowed")
        func deniedTargetIsForbidden() async throws {
            var options = ServiceOptions()
            options.denyTargets = ["127.0.0.2/32"]
            try await withService(options) { service in
                let listener = try await service.tcpListener()
                let port = try #require(listener.address.port)
                let client = try await service.createSocketID(family: "inet", type: "stream")
                let denied = try await service.request("POST", "/v1/sockets/\(client)/connect",
                                                        json: ["address": ["host": "127.0.0.2", "port": port]])
                let problem = try expectProblem(denied, status: 403, kind: "forbidden", field: "address")
                #expect((problem["detail"] as? String)?.contains("127.0.0.2/32") == true, "detail names the rule: \(problem)")
                #expect(try await service.socket(client)["state"] as? String == "created")

                let datagram = try await service.createSocketID(family: "inet", type: "dgram")
                let send = try await service.request("POST", "/v1/sockets/\(datagram)/send",
                                                      json: ["data": "x", "to": ["host": "127.0.0.2", "port": 9]])
                try expectProblem(send, status: 403, kind: "forbidden", field: "to")

                let allowed = try await service.connect(client, listener.address.json)
                #expect(allowed["state"] as? String == "connected")
            }
        }

        /// An allow list denies everything it does not name.
        @Test("with an --allow-target rule, targets outside it answer 403 and targets inside it connect")
        func allowListDeniesTheRest() async throws {
            var options = ServiceOptions()
            options.allowTargets = ["127.0.0.1/32"]
            try await withService(options) { service in
                let v6 = try await service.tcpListener(family: "inet6", host: "::1")
                let v6Client = try await service.createSocketID(family: "inet6", type: "stream")
                let denied = try await service.request("POST", "/v1/sockets/\(v6Client)/connect", json: ["address": v6.address.json])
                try expectProblem(denied, status: 403, kind: "forbidden", field: "address")

                let v4 = try await service.tcpListener()
                let v4Client = try await service.createSocketID(family: "inet", type: "stream")
                #expect(try await service.connect(v4Client, v4.address.json)["state"] as? String == "connected")
                let capabilities = try await service.expecting(200, "GET", "/v1/capabilities", nil)
                let policy = capabilities["target_policy"] as? [String: Any]
                #expect(policy?["allow"] as? [String] == ["127.0.0.1/32"], "capabilities: \(String(describing: policy))")
            }
        }

        /// With `--token`, the sockets API needs the bearer token; health stays public.
        @Test("with a token, socket calls without it answer 401 and with it succeed; health needs none")
        func tokenIsRequired() async throws {
            var options = ServiceOptions()
            options.token = "e2e-secret"
            try await withService(options) { service in
                let anonymous = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "stream"],
                                                          authorized: false)
                try expectProblem(anonymous, status: 401, kind: "unauthorized")
                #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
                #expect(try await service.request("GET", "/v1/health", authorized: false).status == 200)
                try await service.createSocket(family: "inet", type: "stream")
            }
        }

        /// A closed session is history: every operation on it is a conflict, closing again is idempotent.
        @Test("operations on a closed socket answer 409 with state closed; DELETE stays 204 and GET shows history")
        func closedSocketIsConflict() async throws {
            try await withService { service in
                let socket = try await service.createSocketID(family: "inet", type: "stream")
                try await service.close(socket)
                let calls: [(String, String, Any?)] = [
                    ("POST", "bind", ["address": ["host": "127.0.0.1", "port": 0]]), ("POST", "listen", [:] as [String: Any]),
                    ("POST", "connect", ["address": ["host": "127.0.0.1", "port": 9]]), ("POST", "send", ["data": "x"]),
                    ("POST", "receive", [:] as [String: Any]), ("POST", "accept", [:] as [String: Any]),
                    ("POST", "shutdown", ["how": "both"]), ("GET", "options", nil), ("PATCH", "options", ["tcp_nodelay": true]),
                ]
                for (method, operation, body) in calls {
                    let response = try await service.request(method, "/v1/sockets/\(socket)/\(operation)", json: body)
                    try expectProblem(response, status: 409, kind: "invalid-state", state: "closed")
                }
                try await service.close(socket)
                let history = try await service.socket(socket)
                #expect(history["state"] as? String == "closed")
                #expect(history["close_reason"] as? String == "client")
            }
        }

        /// Nothing before the deadline is a normal answer, not an error.
        @Test("a receive with nothing to read answers 200 timed_out true once timeout_ms has passed")
        func receiveTimesOut() async throws {
            try await withService { service in
                let connection = try await service.tcpConnection()
                let started = ContinuousClock.now
                let result = try await service.receive(connection.server, timeoutMs: 300)
                let elapsed = ContinuousClock.now - started
                #expect(result["timed_out"] as? Bool == true, "receive: \(result)")
                #expect(result["bytes"] as? Int == 0)
                #expect(result["eof"] as? Bool == false)
                #expect(elapsed >= .milliseconds(290), "answered after \(elapsed)")
            }
        }

        /// No pending connection before the deadline is a normal answer, not an error.
        @Test("an accept with no pending connection answers 200 timed_out true")
        func acceptTimesOut() async throws {
            try await withService { service in
                let listener = try await service.tcpListener()
                let started = ContinuousClock.now
                let response = try await service.request("POST", "/v1/sockets/\(listener.id)/accept", json: ["timeout_ms": 300])
                let elapsed = ContinuousClock.now - started
                #expect(response.status == 200, "accept: \(response.text)")
                #expect(response.json?["timed_out"] as? Bool == true)
                #expect(elapsed >= .milliseconds(290), "answered after \(elapsed)")
            }
        }
    }
}
