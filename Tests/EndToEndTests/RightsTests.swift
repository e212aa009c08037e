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
            }
        }

        @Test("bad rights are refused naming the field, and nothing is sent", arguments: [
            ("too many", 400), ("unknown id", 404), ("inet socket", 409), ("empty stream send", 409),
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
