import Foundation
import NamespaceRig
import Testing

extension EndToEndTests {
    /// Raw IP sockets over the API (issue 14), between namespaces a and b of the rig: protocol 253 (RFC 3692's
    /// experimental number), with the kernel's header and with one of the client's own.
    @Suite(.enabled(if: NamespaceRig.isAvailable, "\(NamespaceRig.unavailableReason ?? "")"))
    struct RawSocketTests {
        static func options(_ change: (inout ServiceOptions) -> Void = { _ in }) -> ServiceOptions {
            var options = ServiceOptions()
            options.allowNetns = ["*"]
            options.raw.protocols = ["253", "icmp", "raw"]
            change(&options)
            return options
        }

        static func raw(_ service: Service, in host: NamespaceRig.Host, family: String = "inet", protocol proto: String = "253",
                        options: [String: Any] = [:]) async throws -> String {
            var body: [String: Any] = ["family": family, "type": "raw", "protocol": proto, "netns": host.name]
            if !options.isEmpty { body["options"] = options }
            return try #require(try await service.expecting(201, "POST", "/v1/sockets", body)["id"] as? String)
        }

        @Test("protocol 253 from a to b: the kernel's header (src a, protocol 253, TTL 64), then one written field by field with ip_hdrincl")
        func ipv4RawBetweenHosts() async throws {
            try await NamespaceRig.with(hosts: 2) { rig in
                let (a, b) = (rig.hosts[0], rig.hosts[1])
                try await withService(Self.options()) { service in
                    let receiver = try await Self.raw(service, in: b)
                    let bound = try await service.bind(receiver, ["host": b.ipv4])
                    #expect((bound["local_address"] as? [String: Any])?["port"] as? Int == 0, "a raw socket's address shows no protocol as port")
                    let sender = try await Self.raw(service, in: a)
                    try await service.send(sender, "kernel header", to: ["host": b.ipv4])
                    let plain = try await service.receive(receiver)
                    #expect(plain["data"] as? String == "kernel header")
                    let header = try #require(plain["ip_header"] as? [String: Any], "\(plain)")
                    #expect(header["src"] as? String == a.ipv4 && header["dst"] as? String == b.ipv4)
                    #expect(header["protocol"] as? Int == 253 && header["ttl"] as? Int == 64 && header["version"] as? Int == 4)
                    #expect(header["length"] as? Int == 20 + 13)
                    #expect((plain["from"] as? [String: Any])?["host"] as? String == a.ipv4)
                    // With ip_hdrincl the receiver sees exactly the fields written.
                    let crafted = try await Self.raw(service, in: a, options: ["ip_hdrincl": true])
                    try await service.expecting(200, "POST", "/v1/sockets/\(crafted)/send", [
                        "data": "own header",
                        "ip_header": ["src": a.ipv4, "dst": b.ipv4, "ttl": 33, "tos": 16, "id": 4242, "df": true],
                    ])
                    let written = try #require(try await service.receive(receiver)["ip_header"] as? [String: Any])
                    #expect(written["ttl"] as? Int == 33 && written["tos"] as? Int == 16 && written["id"] as? Int == 4242)
                    #expect(written["df"] as? Bool == true && written["src"] as? String == a.ipv4 && written["protocol"] as? Int == 253)
                    // History keeps raw sends and receives with sizes and a preview, as for other sockets.
                    let events = try await service.expecting(200, "GET", "/v1/sockets/\(receiver)/events?order=asc", nil)
                    let receives = (events["items"] as? [[String: Any]] ?? []).filter { $0["op"] as? String == "receive" }
                    #expect(receives.count == 2 && receives.allSatisfy { ($0["result"] as? [String: Any])?["ip_header"] != nil })
                }
            }
        }

        @Test("IPv6 raw delivers the payload without a header and reports the source and hop limit")
        func ipv6Raw() async throws {
            try await NamespaceRig.with(hosts: 2) { rig in
                let (a, b) = (rig.hosts[0], rig.hosts[1])
                try await withService(Self.options()) { service in
                    let receiver = try await Self.raw(service, in: b, family: "inet6", options: ["ipv6_recvhoplimit": true])
                    let sender = try await Self.raw(service, in: a, family: "inet6")
                    try await service.send(sender, "six", to: ["host": b.ipv6])
                    let got = try await service.receive(receiver)
                    #expect(got["data"] as? String == "six" && got["ip_header"] == nil)
                    #expect((got["from"] as? [String: Any])?["host"] as? String == a.ipv6)
                    #expect(got["ttl"] as? Int == 64)
                    let options = try await service.expecting(200, "GET", "/v1/sockets/\(receiver)/options", nil)
                    #expect(options["ipv6_checksum"] as? Int == -1)
                }
            }
        }

        @Test("the rules: header destination checked by the target policy, foreign sources refused unless --allow-spoofing, protocols, rate, IPPROTO_RAW")
        func rawSocketRules() async throws {
            try await NamespaceRig.with(hosts: 3) { rig in
                let (a, b, c) = (rig.hosts[0], rig.hosts[1], rig.hosts[2])
                let options = Self.options { $0.denyTargets = ["\(c.ipv4)/32"]; $0.raw.sendRate = 5 }
                try await withService(options) { service in
                    let crafted = try await Self.raw(service, in: a, options: ["ip_hdrincl": true])
                    // sendto names b (allowed); the header sends it on to c (denied): the header is what counts.
                    let hidden = try await service.request("POST", "/v1/sockets/\(crafted)/send", json: [
                        "data": "x", "to": ["host": b.ipv4], "ip_header": ["dst": c.ipv4],
                    ])
                    let problem = try expectProblem(hidden, status: 403, field: "ip_header.dst")
                    #expect((problem["detail"] as? String)?.contains("\(c.ipv4)/32") == true, "\(problem)")
                    let spoofed = try await service.request("POST", "/v1/sockets/\(crafted)/send", json: [
                        "data": "x", "ip_header": ["src": "10.99.0.77", "dst": b.ipv4],
                    ])
                    let refusal = try expectProblem(spoofed, status: 403, field: "ip_header.src")
                    #expect((refusal["detail"] as? String)?.contains("--allow-spoofing") == true)
                    // Raw bytes with the header inside data are checked the same way.
                    let inData = try await service.request("POST", "/v1/sockets/\(crafted)/send", json: [
                        "data": Self.header(source: [10, 99, 0, 77], destination: [10, 99, 0, 2]), "encoding": "hex",
                    ])
                    try expectProblem(inData, status: 403, field: "data")
                    let gre = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "raw", "protocol": "gre", "netns": a.name])
                    let denied = try expectProblem(gre, status: 403, field: "protocol")
                    #expect((denied["detail"] as? String)?.contains("--raw-protocols") == true)
                    let noProtocol = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "raw", "netns": a.name])
                    try expectProblem(noProtocol, status: 400, field: "protocol")
                    // IPPROTO_RAW sends and never receives.
                    let sendOnly = try await Self.raw(service, in: a, protocol: "raw")
                    let nothing = try await service.request("POST", "/v1/sockets/\(sendOnly)/receive", json: ["timeout_ms": 10])
                    try expectProblem(nothing, status: 409)
                    // --raw-send-rate 5: the sixth packet in the same second is 429.
                    let fast = try await Self.raw(service, in: a)
                    var statuses: [Int] = []
                    for _ in 0..<6 {
                        statuses.append(try await service.request("POST", "/v1/sockets/\(fast)/send",
                                                                  json: ["data": "r", "to": ["host": b.ipv4]]).status)
                    }
                    #expect(statuses.prefix(5).allSatisfy { $0 == 200 } && statuses.last == 429, "\(statuses)")
                    let icmp = try await Self.raw(service, in: a, protocol: "icmp", options: ["icmp_filter": [0, 8]])
                    let icmpOptions = try await service.expecting(200, "GET", "/v1/sockets/\(icmp)/options", nil)
                    #expect(icmpOptions["icmp_filter"] as? [Int] == [0, 8])
                    let many = try await service.request("PATCH", "/v1/sockets/\(icmp)/options", json: ["icmp_filter": Array(repeating: 8, count: 33)])
                    try expectProblem(many, status: 400, field: "icmp_filter")
                }
                // --allow-spoofing: the foreign source goes out as written and b sees it.
                try await withService(Self.options { $0.raw.allowSpoofing = true }) { service in
                    let receiver = try await Self.raw(service, in: b)
                    let crafted = try await Self.raw(service, in: a, options: ["ip_hdrincl": true])
                    try await service.expecting(200, "POST", "/v1/sockets/\(crafted)/send",
                                                ["data": "spoofed", "ip_header": ["src": "10.99.0.77", "dst": b.ipv4]])
                    let got = try await service.receive(receiver)
                    #expect((got["ip_header"] as? [String: Any])?["src"] as? String == "10.99.0.77" && got["data"] as? String == "spoofed")
                    let capabilities = try await service.expecting(200, "GET", "/v1/capabilities", nil)
                    let raw = try #require(capabilities["raw_sockets"] as? [String: Any])
                    #expect(raw["allow_spoofing"] as? Bool == true && raw["protocols"] as? [String] == ["253", "icmp", "raw"])
                }
                try await withService { service in
                    let off = try await service.request("POST", "/v1/sockets", json: ["family": "inet", "type": "raw", "protocol": "253"])
                    let problem = try expectProblem(off, status: 403, field: "protocol")
                    #expect((problem["detail"] as? String)?.contains("raw sockets are off") == true)
                }
            }
        }

        @Test("a packet socket on b's eth0 sees a's frames with the Ethernet header decoded; a frame written on a reaches it; off by default")
        func packetSockets() async throws {
            try await NamespaceRig.with(hosts: 2) { rig in
                let (a, b) = (rig.hosts[0], rig.hosts[1])
                let options = Self.options { $0.raw.packetSockets = true }
                try await withService(options) { service in
                    let tap = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                       ["family": "packet", "type": "raw", "protocol": "0x88b5", "netns": b.name])["id"] as? String)
                    #expect(try await service.socket(tap)["protocol"] as? String == "0x88b5")
                    let bound = try await service.bind(tap, ["interface": "eth0"])
                    let local = try #require(bound["local_address"] as? [String: Any], "\(bound)")
                    #expect(local["interface"] as? String == "eth0" && local["protocol"] as? Int == 0x88b5)
                    let bMAC = try #require(local["address"] as? String)
                    // a writes a whole frame with the local experimental EtherType 0x88b5 to b's MAC.
                    let writer = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                          ["family": "packet", "type": "raw", "protocol": "0x88b5", "netns": a.name])["id"] as? String)
                    let writerAddress = try #require(try await service.bind(writer, ["interface": "eth0"])["local_address"] as? [String: Any])
                    let aMAC = try #require(writerAddress["address"] as? String)
                    try await service.expecting(200, "POST", "/v1/sockets/\(writer)/send",
                                                ["data": "layer two", "ethernet_header": ["dst": bMAC, "ethertype": 0x88b5]])
                    let frame = try await service.receive(tap)
                    let header = try #require(frame["ethernet_header"] as? [String: Any], "\(frame)")
                    #expect(header["dst"] as? String == bMAC && header["src"] as? String == aMAC && header["ethertype"] as? Int == 0x88b5)
                    #expect((frame["data"] as? String)?.hasPrefix("layer two") == true, "the payload, padded to Ethernet's minimum: \(frame)")
                    let from = try #require(frame["from"] as? [String: Any])
                    #expect(from["interface"] as? String == "eth0" && from["packet_type"] as? String == "host" && from["address"] as? String == aMAC)
                    // An IP packet from a, seen on b's wire by a tap for every protocol.
                    let all = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                       ["family": "packet", "type": "raw", "netns": b.name])["id"] as? String)
                    try await service.bind(all, ["interface": "eth0"])
                    let udp = try await MulticastTests.datagramSocket(service, in: a)
                    try await service.send(udp, "over ip", to: ["host": b.ipv4, "port": 9])
                    var sawIP = false
                    for _ in 0..<10 where !sawIP {
                        let seen = try await service.receive(all, timeoutMs: 2000, encoding: "base64")
                        let ethernet = seen["ethernet_header"] as? [String: Any]
                        sawIP = ethernet?["ethertype"] as? Int == 0x0800 && ethernet?["src"] as? String == aMAC
                    }
                    #expect(sawIP, "the UDP datagram's frame (EtherType 0x0800 from a's MAC)")
                }
                try await withService(Self.options()) { service in
                    let off = try await service.request("POST", "/v1/sockets", json: ["family": "packet", "type": "raw", "netns": b.name])
                    let problem = try expectProblem(off, status: 403, field: "family")
                    #expect((problem["detail"] as? String)?.contains("--allow-packet-sockets") == true)
                }
            }
        }

        /// A 20-byte IPv4 header for protocol 253, in hex.
        static func header(source: [UInt8], destination: [UInt8]) -> String {
            let bytes: [UInt8] = [0x45, 0, 0, 21, 0, 0, 0, 0, 64, 253, 0, 0] + source + destination + [0x21]
            return bytes.map { String(format: "%02x", $0) }.joined()
        }
    }
}
