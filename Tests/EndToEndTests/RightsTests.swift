import Foundation
import Testing

extension EndToEndTests {
    /// Passing sockets over Unix sockets (issue 12): `rights` on send, `max_rights` on receive, through the real
    /// server, with the history of each step.
    @Suite struct RightsTests {
        @Test("a connected TCP socket passed over a socketpair arrives as a new socket, the same kernel socket, and talks to X's peer")
        func passedSocketTalksToThePeer() async throws {
            try await withService { service in
                let (_, client, server) = try await service.tcpConnection()
                let pair = try await service.expecting(201, "POST", "/v1/socketpairs", ["type": "stream"])
                let sockets = try #require(pair["sockets"] as? [[String: Any]])
                let left = try #require(sockets[0]["id"] as? String), right = try #require(sockets[1]["id"] as? String)
                try await service.expecting(200, "POST", "/v1/sockets/\(left)/send", ["data": "x", "rights": [client]])
                let received = try await service.expecting(200, "POST", "/v1/sockets/\(right)/receive",
                                                           ["max_rights": 4, "timeout_ms": 2000])
                #expect(received["data"] as? String == "x")
                let rights = try #require(received["rights"] as? [[String: Any]])
                try #require(rights.count == 1)
                #expect(rights[0]["kind"] as? String == "socket")
                #expect(rights[0]["same_kernel_socket_as"] as? String == client)
                let adopted = try #require(rights[0]["socket_id"] as? String)
                #expect(adopted != client)
                let view = try await service.socket(adopted)
                #expect(view["family"] as? String == "inet" && view["type"] as? String == "stream")
                #expect(view["state"] as? String == "connected")
                #expect(view["protocol"] as? String == "tcp")
                let original = try await service.socket(client)
                #expect(view["cookie"] as? String != nil && view["cookie"] as? String == original["cookie"] as? String,
                        "the same kernel socket has the same cookie")
                #expect(view["peer_credentials"] == nil, "a TCP socket has no SO_PEERCRED")
                // Both ends of a socketpair are this process.
                let end = try await service.socket(left)
                let peer = try #require(end["peer_credentials"] as? [String: Any], "\(end)")
                #expect(peer["pid"] as? Int == Int(getpid()) && peer["uid"] as? Int == Int(getuid()))
                #expect(end["cookie"] as? String != original["cookie"] as? String)
                // The new id writes on the same connection: the client's peer reads it.
                try await service.send(adopted, "through the passed socket")
                #expect(try await service.receiveBytes(server, count: 25) == Array("through the passed socket".utf8))
                await service.stop()
                let history = try service.history { db in (try db.events(of: left), try db.events(of: right), try db.events(of: adopted)) }
                let send = history.0.first { $0.op == "send" }, receive = history.1.first { $0.op == "receive" }
                #expect(send?.args?.contains("\"rights\":[\"\(client)\"]") == true, "\(send?.args ?? "")")
                #expect(receive?.result?.contains("\"socket_id\":\"\(adopted)\"") == true, "\(receive?.result ?? "")")
                #expect(history.2.first?.op == "received")
                #expect(history.2.first?.args?.contains("\"via_socket\":\"\(right)\"") == true)
            }
        }

        @Test("more rights than max_rights: ctrunc, the extra ones closed; max_rights 0 closes them all")
        func extraRightsAreReported() async throws {
            try await withService { service in
                let pair = try await service.expecting(201, "POST", "/v1/socketpairs", ["type": "dgram"])
                let sockets = try #require(pair["sockets"] as? [[String: Any]])
                let left = try #require(sockets[0]["id"] as? String), right = try #require(sockets[1]["id"] as? String)
                var passed: [String] = []
                for _ in 0..<3 { passed.append(try await service.createSocketID(family: "inet", type: "dgram")) }
                for (maxRights, kept) in [(1, 1), (0, 0)] {
                    try await service.expecting(200, "POST", "/v1/sockets/\(left)/send", ["data": "r", "rights": passed])
                    let received = try await service.expecting(200, "POST", "/v1/sockets/\(right)/receive",
                                                               ["max_rights": maxRights, "timeout_ms": 2000])
                    #expect(received["ctrunc"] as? Bool == true, "max_rights \(maxRights): \(received)")
                    #expect((received["rights"] as? [[String: Any]] ?? []).count == kept)
                }
                // A peek takes no descriptors (each would be a new copy): no socket appears, and the rights stay queued.
                try await service.expecting(200, "POST", "/v1/sockets/\(left)/send", ["data": "r", "rights": passed])
                let open = service.runtime.sockets.openCount
                for _ in 0..<2 {
                    let peeked = try await service.expecting(200, "POST", "/v1/sockets/\(right)/receive", ["max_rights": 3, "peek": true])
                    #expect((peeked["rights"] as? [Any] ?? []).isEmpty && peeked["data"] as? String == "r", "\(peeked)")
                }
                #expect(service.runtime.sockets.openCount == open, "a peek made no socket")
                let taken = try await service.expecting(200, "POST", "/v1/sockets/\(right)/receive", ["max_rights": 3, "timeout_ms": 2000])
                #expect((taken["rights"] as? [[String: Any]] ?? []).count == 3, "the message and its rights are still queued: \(taken)")
            }
        }

        @Test("received sockets past --max-open-sockets are closed, and the answer says so")
        func receivedPastTheLimitAreClosed() async throws {
            var options = ServiceOptions()
            options.maxOpenSockets = 4
            try await withService(options) { service in
                let pair = try await service.expecting(201, "POST", "/v1/socketpairs", ["type": "dgram"])
                let sockets = try #require(pair["sockets"] as? [[String: Any]])
                let left = try #require(sockets[0]["id"] as? String), right = try #require(sockets[1]["id"] as? String)
                let udp = try await service.createSocketID(family: "inet", type: "dgram")
                // Two descriptors of one socket: the first takes the fourth slot, the second finds none.
                try await service.expecting(200, "POST", "/v1/sockets/\(left)/send", ["data": "r", "rights": [udp, udp]])
                let received = try await service.expecting(200, "POST", "/v1/sockets/\(right)/receive",
                                                           ["max_rights": 2, "timeout_ms": 2000])
                let rights = try #require(received["rights"] as? [[String: Any]], "\(received)")
                try #require(rights.count == 2)
                #expect(rights[0]["socket_id"] as? String != nil && rights[0]["same_kernel_socket_as"] as? String == udp)
                #expect(rights[1]["socket_id"] == nil)
                #expect((rights[1]["closed"] as? String)?.contains("max_open_sockets (4) reached") == true, "\(rights[1])")
            }
        }

        @Test("rights in flight: closing the passed socket or the sender leaves them queued at the receiver; closing the receiver discards them")
        func rightsInFlightAtClose() async throws {
            try await withService { service in
                let pair = try await service.expecting(201, "POST", "/v1/socketpairs", ["type": "dgram"])
                let sockets = try #require(pair["sockets"] as? [[String: Any]])
                let left = try #require(sockets[0]["id"] as? String), right = try #require(sockets[1]["id"] as? String)
                let (udp, taken) = (try await service.createSocketID(family: "inet", type: "dgram"),
                                    try await service.createSocketID(family: "inet", type: "dgram"))
                // One message is received (no longer in flight), the next is left queued.
                try await service.expecting(200, "POST", "/v1/sockets/\(left)/send", ["data": "1", "rights": [taken]])
                try await service.expecting(200, "POST", "/v1/sockets/\(right)/receive", ["max_rights": 1, "timeout_ms": 2000])
                try await service.expecting(200, "POST", "/v1/sockets/\(left)/send", ["data": "2", "rights": [udp]])
                for id in [udp, taken, left, right] { try await service.close(id) }
                await service.stop()
                let closes = try service.history { db in
                    try [udp, taken, left, right].map { id in try #require(try db.events(of: id).last { $0.op == "close" }?.result) }
                }
                let sends = try service.history { db in try db.events(of: left).filter { $0.op == "send" }.map { $0.result ?? "" } }
                #expect(sends.allSatisfy { $0.contains("\"rights_to\":\"\(right)\"") }, "the sends name the receiver: \(sends)")
                func inFlight(_ result: String) throws -> [[String: String]] {
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any])
                    return (object["rights_in_flight"] as? [[String: Any]] ?? []).map { $0.compactMapValues { $0 as? String } }
                }
                let queued = ["socket_id": udp, "from": left, "to": right, "fate": "queued"]
                #expect(try inFlight(closes[0]) == [queued], "the passed socket itself: \(closes[0])")
                #expect(try inFlight(closes[1]).isEmpty, "received already: \(closes[1])")
                #expect(try inFlight(closes[2]) == [queued], "the sender: \(closes[2])")
                #expect(try inFlight(closes[3]) == [["socket_id": udp, "from": left, "to": right, "fate": "discarded"]],
                        "the receiver: \(closes[3])")
            }
        }

        @Test("a datagram sent to a Unix name with rights names the managed socket bound there; once received, nothing is in flight")
        func datagramRightsFollowTheName() async throws {
            try await withService { service in
                let receiver = try await service.createSocketID(family: "unix", type: "dgram")
                try await service.bind(receiver, ["path": "rights-to.sock"])
                let sender = try await service.createSocketID(family: "unix", type: "dgram")
                let udp = try await service.createSocketID(family: "inet", type: "dgram")
                try await service.expecting(200, "POST", "/v1/sockets/\(sender)/send",
                                            ["data": "d", "to": ["path": "rights-to.sock"], "rights": [udp]])
                let received = try await service.expecting(200, "POST", "/v1/sockets/\(receiver)/receive", ["max_rights": 1, "timeout_ms": 2000])
                #expect((received["rights"] as? [[String: Any]])?.first?["same_kernel_socket_as"] as? String == udp)
                for id in [udp, sender, receiver] { try await service.close(id) }
                await service.stop()
                let send = try service.history { db in try db.events(of: sender).first { $0.op == "send" }?.result }
                #expect(send?.contains("\"rights_to\":\"\(receiver)\"") == true, "\(send ?? "")")
                let closes = try service.history { db in try [udp, sender, receiver].map { try db.events(of: $0).last?.result ?? "" } }
                #expect(closes.allSatisfy { !$0.contains("rights_in_flight") }, "\(closes)")
            }
        }

        @Test("bad rights are refused naming the field, and nothing is sent", arguments: [
            ("too many", 400), ("unknown id", 404), ("inet socket", 409), ("empty stream send", 400),
        ])
        func badRightsAreRefused(case name: String, status: Int) async throws {
            try await withService { service in
                let pair = try await service.expecting(201, "POST", "/v1/socketpairs", ["type": "stream"])
                let sockets = try #require(pair["sockets"] as? [[String: Any]])
                let left = try #require(sockets[0]["id"] as? String), right = try #require(sockets[1]["id"] as? String)
                let udp = try await service.createSocketID(family: "inet", type: "dgram")
                var sender = left
                var body: [String: Any] = ["data": "x", "rights": [udp]]
                switch name {
                case "too many": body["rights"] = [String](repeating: udp, count: 254)
                case "unknown id": body["rights"] = ["sk_nope"]
                case "inet socket": sender = udp
                default: body["data"] = ""
                }
                let response = try await service.request("POST", "/v1/sockets/\(sender)/send", json: body)
                try expectProblem(response, status: status, field: "rights")
                let nothing = try await service.expecting(200, "POST", "/v1/sockets/\(right)/receive", ["max_rights": 4])
                #expect(nothing["timed_out"] as? Bool == true, "\(name): nothing was sent")
            }
        }
    }
}

extension EndToEndTests {
    /// What comes beside the data (issue 12): credentials, destination and interface, TTL, the kernel's time.
    @Suite struct MessageMetadataTests {
        @Test("UDP with ip_pktinfo, ip_recvttl and so_timestampns: receive reports destination, interface, TTL and kernel time")
        func datagramMetadata() async throws {
            try await withService { service in
                let created = try await service.expecting(201, "POST", "/v1/sockets", [
                    "family": "inet", "type": "dgram", "options": ["ip_pktinfo": true, "ip_recvttl": true, "so_timestampns": true],
                ])
                let receiver = try #require(created["id"] as? String)
                let bound = try await service.bind(receiver, ["host": "127.0.0.1", "port": 0])
                let address = try #require(bound["local_address"] as? [String: Any])
                let options = try await service.expecting(200, "GET", "/v1/sockets/\(receiver)/options", nil)
                #expect(options["ip_pktinfo"] as? Bool == true && options["so_timestampns"] as? Bool == true)
                let sender = try await service.createSocketID(family: "inet", type: "dgram")
                let before = Date()
                try await service.send(sender, "meta", to: address)
                let received = try await service.receive(receiver)
                let after = Date()
                #expect((received["destination"] as? [String: Any])?["host"] as? String == "127.0.0.1")
                #expect(received["interface_index"] as? Int == Int(if_nametoindex("lo")))
                #expect(received["ttl"] as? Int == 64)
                let stamp = try #require(received["kernel_time"] as? String)
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                let time = try #require(formatter.date(from: stamp), "kernel_time \(stamp)")
                #expect(time >= before.addingTimeInterval(-0.001) && time <= after.addingTimeInterval(0.001), "\(stamp)")
            }
        }

        @Test("so_passcred: each message carries the sender's credentials; credentials: true attaches them")
        func credentialsArrive() async throws {
            try await withService { service in
                let pair = try await service.expecting(201, "POST", "/v1/socketpairs", ["type": "dgram"])
                let sockets = try #require(pair["sockets"] as? [[String: Any]])
                let left = try #require(sockets[0]["id"] as? String), right = try #require(sockets[1]["id"] as? String)
                try await service.expecting(200, "PATCH", "/v1/sockets/\(right)/options", ["so_passcred": true])
                try await service.expecting(200, "POST", "/v1/sockets/\(left)/send", ["data": "who", "credentials": true])
                let received = try await service.receive(right)
                let credentials = try #require(received["credentials"] as? [String: Any], "\(received)")
                #expect(credentials["pid"] as? Int == Int(getpid()))
                #expect(credentials["uid"] as? Int == Int(getuid()) && credentials["gid"] as? Int == Int(getgid()))
                let udp = try await service.createSocketID(family: "inet", type: "dgram")
                let refused = try await service.request("POST", "/v1/sockets/\(udp)/send", json: ["data": "x", "credentials": true])
                try expectProblem(refused, status: 409, field: "credentials")
            }
        }
    }
}
