import Foundation
import NamespaceRig
import Storage
import Testing

extension EndToEndTests {
    /// Sockets in network namespaces (issue 13), on the namespace rig: hosts a, b, c on one bridge.
    @Suite(.enabled(if: NamespaceRig.isAvailable, "\(NamespaceRig.unavailableReason ?? "")"))
    struct NamespaceTests {
        @Test("netns: off by default, 403 when not allowed, 404 when unknown, 400 when no name; GET /v1/netns and capabilities show the allowed")
        func namespacePolicy() async throws {
            try await NamespaceRig.with(hosts: 2) { rig in
                let (a, b) = (rig.hosts[0].name, rig.hosts[1].name)
                try await withService { service in
                    let off = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram", "netns": a])
                    let problem = try expectProblem(off, status: 403, field: "netns")
                    #expect((problem["detail"] as? String)?.contains("--allow-netns") == true, "\(problem)")
                    let list = try await service.expecting(200, "GET", "/v1/netns", nil)
                    #expect((list["items"] as? [Any])?.isEmpty == true)
                }
                var options = ServiceOptions()
                options.allowNetns = [a]
                try await withService(options) { service in
                    for (name, status) in [(b, 403), ("sockpit-no-such-\(getpid())", 403)] {
                        let response = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram", "netns": name])
                        try expectProblem(response, status: status, field: "netns")
                    }
                    let created = try await service.expecting(201, "POST", "/v1/sockets", ["family": "inet", "type": "dgram", "netns": a])
                    #expect(created["netns"] as? String == a)
                    let list = try await service.expecting(200, "GET", "/v1/netns", nil)
                    let items = try #require(list["items"] as? [[String: Any]])
                    #expect(items.map { $0["name"] as? String } == [a], "only the allowed one, though b exists: \(items)")
                    #expect((items.first?["inode"] as? Int ?? 0) > 0)
                    let capabilities = try await service.expecting(200, "GET", "/v1/capabilities", nil)
                    #expect(capabilities["netns_allowed"] as? [String] == [a])
                }
                options.allowNetns = ["*"]
                try await withService(options) { service in
                    let unknown = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram",
                                                                                          "netns": "sockpit-no-such-\(getpid())"])
                    try expectProblem(unknown, status: 404, field: "netns")
                    for name in ["..", "a/b"] {
                        let bad = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "dgram", "netns": name])
                        try expectProblem(bad, status: 400, field: "netns")
                    }
                    let list = try await service.expecting(200, "GET", "/v1/netns?limit=1", nil)
                    #expect((list["items"] as? [Any])?.count == 1 && list["next_cursor"] as? String != nil, "\(list)")
                }
            }
        }

        @Test("UDP and TCP between hosts a and b: traffic crosses the bridge, and netns is in the views, every event and stats")
        func trafficCrossesTheBridge() async throws {
            try await NamespaceRig.with(hosts: 2) { rig in
                let (a, b) = (rig.hosts[0], rig.hosts[1])
                var options = ServiceOptions()
                options.allowNetns = ["*"]
                try await withService(options) { service in
                    let receiver = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                            ["family": "inet", "type": "dgram", "netns": b.name])["id"] as? String)
                    let port = try #require((try await service.bind(receiver, ["host": "0.0.0.0", "port": 0])["local_address"] as? [String: Any])?["port"] as? Int)
                    let sender = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                          ["family": "inet", "type": "dgram", "netns": a.name])["id"] as? String)
                    try await service.send(sender, "from a", to: ["host": b.ipv4, "port": port])
                    let datagram = try await service.receive(receiver)
                    #expect(datagram["data"] as? String == "from a")
                    #expect((datagram["from"] as? [String: Any])?["host"] as? String == a.ipv4)
                    // The same address in the service's own namespace reaches nothing there.
                    let here = try await service.createSocketID(family: "inet", type: "dgram")
                    let unreachable = try await service.request("POST", "/v1/sockets/\(here)/send",
                                                                json: ["data": "x", "to": ["host": b.ipv4, "port": port]])
                    if unreachable.status == 200 {
                        let nothing = try await service.receive(receiver, timeoutMs: 200)
                        #expect(nothing["timed_out"] as? Bool == true, "a datagram from the service's own namespace crossed: \(nothing)")
                    }
                    // TCP: a listener in b accepts a connection from a; the accepted socket is in b too.
                    let listener = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                            ["family": "inet6", "type": "stream", "netns": b.name])["id"] as? String)
                    let tcpPort = try #require((try await service.bind(listener, ["host": "::", "port": 0])["local_address"] as? [String: Any])?["port"] as? Int)
                    try await service.listen(listener)
                    let client = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                          ["family": "inet6", "type": "stream", "netns": a.name])["id"] as? String)
                    try await service.connect(client, ["host": b.ipv6, "port": tcpPort])
                    let accepted = try await service.accept(listener)
                    #expect(accepted["netns"] as? String == b.name)
                    #expect((accepted["peer_address"] as? [String: Any])?["host"] as? String == a.ipv6)
                    let stats = try await service.expecting(200, "GET", "/v1/stats", nil)
                    let byKind = try #require((stats["sockets"] as? [String: Any])?["by_kind"] as? [[String: Any]])
                    #expect(byKind.contains { $0["netns"] as? String == b.name && $0["type"] as? String == "stream" && $0["state"] as? String == "connected" },
                            "\(byKind)")
                    let listed = try await service.expecting(200, "GET", "/v1/sockets?netns=\(a.name)", nil)
                    #expect(Set((listed["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }) == [sender, client])
                    let events = try await service.expecting(200, "GET", "/v1/sockets/\(sender)/events", nil)
                    #expect((events["items"] as? [[String: Any]] ?? []).allSatisfy { $0["netns"] as? String == a.name }, "\(events)")
                    await service.stop()
                    let rows = try service.history { db in
                        try db.query("SELECT socket_id, op, netns FROM events WHERE socket_id IN (?, ?, ?) ORDER BY id",
                                     [.text(sender), .text(receiver), .text(here)])
                            .map { ($0["socket_id"].string ?? "", $0["op"].string ?? "", $0["netns"].string) }
                    }
                    #expect(rows.count >= 8)
                    for (socket, op, netns) in rows {
                        let expected: String? = socket == sender ? a.name : socket == receiver ? b.name : nil
                        #expect(netns == expected, "\(socket) \(op): \(netns ?? "nil")")
                    }
                }
            }
        }

        @Test("the target policy applies inside a namespace as on the host: a denied subnet is refused from a, naming the rule")
        func targetPolicyAppliesInside() async throws {
            try await NamespaceRig.with(hosts: 2) { rig in
                let (a, b) = (rig.hosts[0], rig.hosts[1])
                var options = ServiceOptions()
                options.allowNetns = ["*"]
                options.denyTargets = ["10.99.0.2/32"]
                try await withService(options) { service in
                    let sender = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                          ["family": "inet", "type": "dgram", "netns": a.name])["id"] as? String)
                    let denied = try await service.request("POST", "/v1/sockets/\(sender)/send", json: ["data": "x", "to": ["host": b.ipv4, "port": 9]])
                    let problem = try expectProblem(denied, status: 403, field: "to")
                    #expect((problem["detail"] as? String)?.contains("10.99.0.2/32") == true, "\(problem)")
                    let probe = try await service.request("POST", "/v1/probes", json: ["kind": "tcp", "target": b.ipv4, "ports": 9, "netns": a.name])
                    try expectProblem(probe, status: 403, field: "target")
                }
            }
        }

        @Test("thread hygiene: after 1,000 sockets made across three namespaces, every socket made without netns is in the service's own")
        func noThreadLeaksIntoANamespace() async throws {
            try await NamespaceRig.with(hosts: 3) { rig in
                var options = ServiceOptions()
                options.allowNetns = ["*"]
                options.maxOpenSockets = 64
                try await withService(options) { service in
                    var hostSockets = 0
                    for index in 0..<1000 {
                        let host = rig.hosts[index % 3]
                        let made = try await service.expecting(201, "POST", "/v1/sockets",
                                                               ["family": index % 2 == 0 ? "inet" : "inet6", "type": "dgram", "netns": host.name])
                        #expect(made["netns"] as? String == host.name)
                        try await service.close(try #require(made["id"] as? String))
                        if index % 10 == 0 {
                            // The view's netns is read from the kernel (SIOCGSKNS) when the socket is made.
                            let own = try await service.createSocket(family: "inet", type: "dgram")
                            #expect(own["netns"] == nil, "\(own)")
                            try await service.close(try #require(own["id"] as? String))
                            hostSockets += 1
                        }
                    }
                    // And the kernel delivers to it what this process sends on its own loopback.
                    let own = try await service.createSocketID(family: "inet", type: "dgram")
                    let port = try #require((try await service.bind(own, ["host": "127.0.0.1", "port": 0])["local_address"] as? [String: Any])?["port"] as? Int)
                    let plain = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
                    defer { close(plain) }
                    var address = sockaddr_in()
                    address.sin_family = sa_family_t(AF_INET)
                    address.sin_port = UInt16(port).bigEndian
                    address.sin_addr.s_addr = inet_addr("127.0.0.1")
                    let sent = withUnsafePointer(to: &address) { pointer in
                        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(plain, "here", 4, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    #expect(sent == 4)
                    let heard = try await service.receive(own)
                    #expect(heard["data"] as? String == "here")
                    #expect(hostSockets == 100)
                }
            }
        }
    }
}

extension EndToEndTests {
    /// Probes run from inside a namespace (issue 13): from b against a, over the rig's bridge.
    @Suite(.enabled(if: NamespaceRig.isAvailable, "\(NamespaceRig.unavailableReason ?? "")"))
    struct NamespaceProbeTests {
        @Test("from inside b: a TCP probe finds a's listener open and another port closed, ICMP echo answers, UDP sees the port unreachable")
        func probesRunInsideTheNamespace() async throws {
            try await NamespaceRig.with(hosts: 2) { rig in
                let (a, b) = (rig.hosts[0], rig.hosts[1])
                var options = ServiceOptions()
                options.allowNetns = ["*"]
                try await withService(options) { service in
                    let listener = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                            ["family": "inet", "type": "stream", "netns": a.name])["id"] as? String)
                    let port = try #require((try await service.bind(listener, ["host": a.ipv4, "port": 0])["local_address"] as? [String: Any])?["port"] as? Int)
                    try await service.listen(listener)
                    let closedPort = port == 65535 ? port - 1 : port + 1
                    let tcp = try await service.probe(["kind": "tcp", "target": a.ipv4, "ports": [port, closedPort], "netns": b.name,
                                                       "timeout_ms": 2000], results: "all")
                    #expect(tcp["netns"] as? String == b.name)
                    #expect(attempts(tcp).first { $0["port"] as? Int == port }?["state"] as? String == "open", "\(tcp)")
                    #expect(attempts(tcp).first { $0["port"] as? Int == closedPort }?["state"] as? String == "closed", "\(tcp)")
                    let icmp = try await service.probe(["kind": "icmp", "target": a.ipv4, "count": 2, "interval_ms": 0, "netns": b.name,
                                                        "timeout_ms": 2000], results: "all")
                    #expect(icmp["outcome"] as? String == "success", "\(icmp)")
                    #expect(attempts(icmp).allSatisfy { $0["state"] as? String == "reply" && ($0["ttl"] as? Int) == 64 }, "\(icmp)")
                    let udp = try await service.probe(["kind": "udp", "target": a.ipv4, "ports": closedPort, "netns": b.name,
                                                       "timeout_ms": 2000], results: "all")
                    let row = try #require(attempts(udp).first)
                    #expect(row["state"] as? String == "closed" && row["errno"] as? String == "ECONNREFUSED",
                            "the ICMP port unreachable from a, seen inside b: \(udp)")
                    // The same TCP probe from the service's own namespace does not reach a's listener.
                    let outside = try await service.probe(["kind": "tcp", "target": a.ipv4, "ports": port, "timeout_ms": 300], results: "all")
                    #expect(attempts(outside).first?["state"] as? String != "open", "\(outside)")
                    let unix = try await service.request("POST", "/v1/probes", json: ["kind": "unix", "target": "x.sock", "netns": b.name])
                    try expectProblem(unix, status: 400, field: "netns")
                    let probeID = try #require(tcp["id"] as? String)
                    await service.stop()
                    let rows = try service.history { db in
                        try db.query("SELECT op, netns FROM events WHERE probe_id = ? ORDER BY id", [.text(probeID)])
                            .map { ($0["op"].string ?? "", $0["netns"].string) }
                    }
                    #expect(rows.map(\.0) == ["probe.start", "probe.finish"])
                    #expect(rows.allSatisfy { $0.1 == b.name }, "\(rows)")
                    let stored = try service.history { db in try db.query("SELECT netns FROM probes WHERE id = ?", [.text(probeID)]).first?["netns"].string }
                    #expect(stored == b.name)
                }
                try await withService { service in
                    let refused = try await service.request("POST", "/v1/probes", json: ["kind": "tcp", "target": a.ipv4, "ports": 1, "netns": b.name])
                    try expectProblem(refused, status: 403, field: "netns")
                }
            }
        }
    }
}
