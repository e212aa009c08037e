import Foundation
import NamespaceRig
import Testing

extension EndToEndTests {
    /// Broadcast and multicast across hosts (issue 13): three namespaces a, b, c on one bridge, driven through
    /// the API only (`netns` on every socket).
    @Suite(.enabled(if: NamespaceRig.isAvailable, "\(NamespaceRig.unavailableReason ?? "")"))
    struct MulticastTests {
        /// How long "receives nothing" waits: a datagram on a bridge arrives in well under a millisecond.
        static let silence = 300

        /// A datagram socket in `host`'s namespace with `options`, bound to `address` when given.
        static func datagramSocket(_ service: Service, in host: NamespaceRig.Host, family: String = "inet", options: [String: Any] = [:],
                                   bind address: [String: Any]? = nil) async throws -> String {
            var body: [String: Any] = ["family": family, "type": "dgram", "netns": host.name]
            if !options.isEmpty { body["options"] = options }
            let id = try #require(try await service.expecting(201, "POST", "/v1/sockets", body)["id"] as? String)
            if let address { try await service.bind(id, address) }
            return id
        }

        static func options() -> ServiceOptions {
            var options = ServiceOptions()
            options.allowNetns = ["*"]
            return options
        }

        @Test("subnet broadcast from a reaches b and c; without so_broadcast the send is refused with EACCES; 255.255.255.255 goes out with so_bindtodevice")
        func broadcastReachesTheSegment() async throws {
            try await NamespaceRig.with(hosts: 3) { rig in
                let (a, b, c) = (rig.hosts[0], rig.hosts[1], rig.hosts[2])
                try await withService(Self.options()) { service in
                    let port = 40_001
                    let listeners = [try await Self.datagramSocket(service, in: b, bind: ["host": "0.0.0.0", "port": port]),
                                     try await Self.datagramSocket(service, in: c, bind: ["host": "0.0.0.0", "port": port])]
                    let plain = try await Self.datagramSocket(service, in: a)
                    let refused = try await service.request("POST", "/v1/sockets/\(plain)/send",
                                                            json: ["data": "x", "to": ["host": NamespaceRig.broadcast, "port": port]])
                    try expectProblem(refused, status: 403, errno: "EACCES")
                    let sender = try await Self.datagramSocket(service, in: a, options: ["so_broadcast": true])
                    try await service.send(sender, "to the subnet", to: ["host": NamespaceRig.broadcast, "port": port])
                    for listener in listeners {
                        let heard = try await service.receive(listener)
                        #expect(heard["data"] as? String == "to the subnet")
                        #expect((heard["from"] as? [String: Any])?["host"] as? String == a.ipv4)
                    }
                    // The limited broadcast has no route in a namespace without a default one: bound to eth0 it goes out there.
                    let limited = try await Self.datagramSocket(service, in: a, options: ["so_broadcast": true, "so_bindtodevice": a.interface])
                    let options = try await service.expecting(200, "GET", "/v1/sockets/\(limited)/options", nil)
                    #expect(options["so_bindtodevice"] as? String == a.interface)
                    try await service.send(limited, "to everyone", to: ["host": "255.255.255.255", "port": port])
                    for listener in listeners {
                        #expect(try await service.receive(listener)["data"] as? String == "to everyone")
                    }
                }
            }
        }

        @Test("IPv4 multicast 239.1.2.3: b joins and receives, c does not; a's own copy follows ip_multicast_loop; leaving stops it; a second join is EADDRINUSE")
        func ipv4Multicast() async throws {
            try await NamespaceRig.with(hosts: 3) { rig in
                let (a, b, c) = (rig.hosts[0], rig.hosts[1], rig.hosts[2])
                try await withService(Self.options()) { service in
                    let port = 40_002, group = "239.1.2.3"
                    let join: [String: Any] = ["ip_add_membership": ["group": group, "interface": ["name": "eth0"]]]
                    let member = try await Self.datagramSocket(service, in: b, options: join, bind: ["host": "0.0.0.0", "port": port])
                    let outsider = try await Self.datagramSocket(service, in: c, bind: ["host": "0.0.0.0", "port": port])
                    let local = try await Self.datagramSocket(service, in: a, options: join, bind: ["host": "0.0.0.0", "port": port])
                    let view = try await service.socket(member)
                    let memberships = try #require(view["memberships"] as? [[String: Any]], "\(view)")
                    #expect(memberships.first?["group"] as? String == group)
                    #expect((memberships.first?["interface"] as? [String: Any])?["name"] as? String == "eth0")
                    let sender = try await Self.datagramSocket(service, in: a, options: ["ip_multicast_if": ["address": a.ipv4]])
                    let senderOptions = try await service.expecting(200, "GET", "/v1/sockets/\(sender)/options", nil)
                    #expect((senderOptions["ip_multicast_if"] as? [String: Any])?["address"] as? String == a.ipv4)
                    #expect(senderOptions["ip_multicast_loop"] as? Bool == true && senderOptions["ip_multicast_ttl"] as? Int == 1)
                    try await service.send(sender, "to the group", to: ["host": group, "port": port])
                    #expect(try await service.receive(member)["data"] as? String == "to the group")
                    #expect(try await service.receive(local)["data"] as? String == "to the group", "the loopback copy, loop on")
                    #expect(try await service.receive(outsider, timeoutMs: Self.silence)["timed_out"] as? Bool == true, "c did not join")
                    // Loop off: a's own member hears nothing of a's sends; b still does.
                    try await service.expecting(200, "PATCH", "/v1/sockets/\(sender)/options", ["ip_multicast_loop": false])
                    try await service.send(sender, "no copy", to: ["host": group, "port": port])
                    #expect(try await service.receive(member)["data"] as? String == "no copy")
                    #expect(try await service.receive(local, timeoutMs: Self.silence)["timed_out"] as? Bool == true, "loop off")
                    // A second join of the same group on the same interface is the kernel's EADDRINUSE.
                    let again = try await service.request("PATCH", "/v1/sockets/\(member)/options", json: join)
                    try expectProblem(again, status: 409, field: "ip_add_membership", errno: "EADDRINUSE")
                    // Leaving stops delivery, and the view no longer lists the group.
                    try await service.expecting(200, "PATCH", "/v1/sockets/\(member)/options",
                                                ["ip_drop_membership": ["group": group, "interface": ["name": "eth0"]]])
                    #expect(try await service.socket(member)["memberships"] == nil)
                    try await service.send(sender, "after leaving", to: ["host": group, "port": port])
                    #expect(try await service.receive(member, timeoutMs: Self.silence)["timed_out"] as? Bool == true, "left the group")
                    // Bad groups and interfaces are the client's or the kernel's refusals, naming the field.
                    let notGroup = try await service.request("PATCH", "/v1/sockets/\(member)/options", json: ["ip_add_membership": ["group": "10.1.2.3"]])
                    try expectProblem(notGroup, status: 400, field: "ip_add_membership.group")
                    let noDevice = try await service.request("PATCH", "/v1/sockets/\(member)/options",
                                                             json: ["ip_add_membership": ["group": group, "interface": ["name": "nosuch0"]]])
                    try expectProblem(noDevice, status: 409, field: "ip_add_membership", errno: "ENODEV")
                }
            }
        }

        @Test("ip_multicast_all off keeps a wildcard-bound socket to its own groups: another socket's join no longer reaches it")
        func multicastAllIsolates() async throws {
            try await NamespaceRig.with(hosts: 2) { rig in
                let (a, b) = (rig.hosts[0], rig.hosts[1])
                try await withService(Self.options()) { service in
                    let port = 40_003, group = "239.1.2.4"
                    let shared: [String: Any] = ["so_reuseaddr": true]
                    let joined = try await Self.datagramSocket(
                        service, in: b, options: shared.merging(["ip_add_membership": ["group": group, "interface": ["name": "eth0"]]]) { x, _ in x },
                        bind: ["host": "0.0.0.0", "port": port])
                    let bystander = try await Self.datagramSocket(service, in: b, options: shared, bind: ["host": "0.0.0.0", "port": port])
                    let sender = try await Self.datagramSocket(service, in: a)
                    try await service.send(sender, "everyone on the port", to: ["host": group, "port": port])
                    #expect(try await service.receive(joined)["data"] as? String == "everyone on the port")
                    #expect(try await service.receive(bystander)["data"] as? String == "everyone on the port",
                            "Linux's default: a wildcard-bound socket hears the groups others joined")
                    try await service.expecting(200, "PATCH", "/v1/sockets/\(bystander)/options", ["ip_multicast_all": false])
                    try await service.send(sender, "members only", to: ["host": group, "port": port])
                    #expect(try await service.receive(joined)["data"] as? String == "members only")
                    #expect(try await service.receive(bystander, timeoutMs: Self.silence)["timed_out"] as? Bool == true,
                            "ip_multicast_all off: only its own memberships")
                }
            }
        }

        @Test("IPv6 multicast ff15::1234: b joins on eth0 and receives, c does not; a's copy follows ipv6_multicast_loop; leaving stops it")
        func ipv6Multicast() async throws {
            try await NamespaceRig.with(hosts: 3) { rig in
                let (a, b, c) = (rig.hosts[0], rig.hosts[1], rig.hosts[2])
                try await withService(Self.options()) { service in
                    let port = 40_004, group = "ff15::1234"
                    let join: [String: Any] = ["ipv6_join_group": ["group": group, "interface": ["name": "eth0"]]]
                    let member = try await Self.datagramSocket(service, in: b, family: "inet6", options: join, bind: ["host": "::", "port": port])
                    let outsider = try await Self.datagramSocket(service, in: c, family: "inet6", bind: ["host": "::", "port": port])
                    let local = try await Self.datagramSocket(service, in: a, family: "inet6", options: join, bind: ["host": "::", "port": port])
                    let sender = try await Self.datagramSocket(service, in: a, family: "inet6", options: ["ipv6_multicast_if": ["name": "eth0"]])
                    let options = try await service.expecting(200, "GET", "/v1/sockets/\(sender)/options", nil)
                    let interface = try #require(options["ipv6_multicast_if"] as? [String: Any], "\(options)")
                    #expect(interface["name"] as? String == "eth0" && (interface["index"] as? Int ?? 0) > 0, "named in a's namespace: \(interface)")
                    try await service.send(sender, "v6 group", to: ["host": group, "port": port])
                    let heard = try await service.receive(member)
                    #expect(heard["data"] as? String == "v6 group")
                    #expect((heard["from"] as? [String: Any])?["host"] as? String != nil)
                    #expect(try await service.receive(local)["data"] as? String == "v6 group", "the loopback copy, loop on")
                    #expect(try await service.receive(outsider, timeoutMs: Self.silence)["timed_out"] as? Bool == true)
                    try await service.expecting(200, "PATCH", "/v1/sockets/\(sender)/options", ["ipv6_multicast_loop": false])
                    try await service.send(sender, "no copy", to: ["host": group, "port": port])
                    #expect(try await service.receive(member)["data"] as? String == "no copy")
                    #expect(try await service.receive(local, timeoutMs: Self.silence)["timed_out"] as? Bool == true, "loop off")
                    try await service.expecting(200, "PATCH", "/v1/sockets/\(member)/options",
                                                ["ipv6_leave_group": ["group": group, "interface": ["name": "eth0"]]])
                    try await service.send(sender, "after leaving", to: ["host": group, "port": port])
                    #expect(try await service.receive(member, timeoutMs: Self.silence)["timed_out"] as? Bool == true, "left the group")
                    try await service.expecting(200, "PATCH", "/v1/sockets/\(member)/options", join)
                    let again = try await service.request("PATCH", "/v1/sockets/\(member)/options",
                                                          json: ["ipv6_join_group": ["group": group, "interface": ["name": "eth0"]]])
                    try expectProblem(again, status: 409, field: "ipv6_join_group", errno: "EADDRINUSE")
                    let byAddress = try await service.request("PATCH", "/v1/sockets/\(member)/options",
                                                              json: ["ipv6_leave_group": ["group": group, "interface": ["address": b.ipv4]]])
                    try expectProblem(byAddress, status: 400, field: "ipv6_leave_group.interface.address")
                }
            }
        }
    }
}
