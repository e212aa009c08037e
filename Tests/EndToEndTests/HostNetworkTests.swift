import Foundation
import NamespaceRig
import Testing

extension EndToEndTests {
    /// The host views (issue 15) against `ip -j` for the same namespace, field by field. The documented
    /// differences: addresses are one item each (ip nests them under their link), routes always carry type,
    /// table, protocol and scope (ip leaves out unicast, main, boot and global), and counters (stats64) move
    /// between the two reads, so they are not compared.
    @Suite(.enabled(if: NamespaceRig.isAvailable, "\(NamespaceRig.unavailableReason ?? "")"))
    struct HostNetworkTests {
        /// `ip ARGS` inside `host`'s namespace, as JSON.
        static func ip(_ rig: NamespaceRig, _ host: NamespaceRig.Host, _ arguments: [String]) throws -> [[String: Any]] {
            let text = try rig.exec(host, ["ip", "-j"] + arguments)
            return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "\(text)")
        }

        /// Every item of a view, all pages (two items a page, to walk the cursor too).
        static func all(_ service: Service, _ path: String) async throws -> [[String: Any]] {
            var items: [[String: Any]] = []
            var cursor: String?
            repeat {
                let page = try await service.expecting(200, "GET", path + "&limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), nil)
                items += page["items"] as? [[String: Any]] ?? []
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            return items
        }

        /// A JSON value as comparable text (numbers and strings alike, arrays in order).
        static func text(_ value: Any?) -> String {
            guard let value, !(value is NSNull) else { return "-" }
            if let array = value as? [Any] { return "[" + array.map { text($0) }.joined(separator: ",") + "]" }
            return "\(value)"
        }

        @Test("links, addresses, routes and neighbours of a namespace equal ip -j's, field by field")
        func viewsEqualIP() async throws {
            try await NamespaceRig.with(hosts: 2) { rig in
                let a = rig.hosts[0]
                // Something of each kind beyond what the rig made: a secondary address, a route, a neighbour.
                try rig.exec(a, ["ip", "addr", "add", "10.99.0.101/24", "dev", "eth0"])
                try rig.exec(a, ["ip", "route", "add", "10.77.0.0/16", "via", rig.hosts[1].ipv4, "metric", "7"])
                try rig.exec(a, ["ip", "neigh", "add", "10.99.0.9", "lladdr", "02:00:00:00:00:09", "dev", "eth0"])
                var options = ServiceOptions()
                options.allowNetns = [a.name]
                try await withService(options) { service in
                    let query = "?netns=\(a.name)"
                    // Links.
                    let links = try await Self.all(service, "/v1/host/links" + query)
                    let ipLinks = try Self.ip(rig, a, ["link"])
                    #expect(links.count == ipLinks.count && links.count >= 2)
                    for ipLink in ipLinks {
                        let link = try #require(links.first { $0["ifindex"] as? Int == ipLink["ifindex"] as? Int }, "\(ipLink)")
                        for field in ["ifname", "flags", "mtu", "qdisc", "operstate", "linkmode", "group", "txqlen", "link_type", "address",
                                      "broadcast", "link", "link_index", "link_netnsid", "master"] {
                            #expect(Self.text(link[field]) == Self.text(ipLink[field]), "link \(ipLink["ifname"] ?? "") \(field)")
                        }
                    }
                    // Addresses: ip nests them under their link.
                    let addresses = try await Self.all(service, "/v1/host/addresses" + query)
                    var ipAddresses: [[String: Any]] = []
                    for link in try Self.ip(rig, a, ["addr"]) {
                        for info in link["addr_info"] as? [[String: Any]] ?? [] {
                            ipAddresses.append(info.merging(["ifindex": link["ifindex"] ?? 0, "ifname": link["ifname"] ?? ""]) { x, _ in x })
                        }
                    }
                    #expect(addresses.count == ipAddresses.count && addresses.count >= 5, "\(addresses)")
                    for ipAddress in ipAddresses {
                        let address = try #require(addresses.first { Self.text($0["local"]) == Self.text(ipAddress["local"]) }, "\(ipAddress)")
                        for field in ["ifindex", "ifname", "family", "prefixlen", "broadcast", "scope", "label", "valid_life_time",
                                      "preferred_life_time"] {
                            #expect(Self.text(address[field]) == Self.text(ipAddress[field]), "address \(ipAddress["local"] ?? "") \(field)")
                        }
                        let words: Set = ["secondary", "nodad", "optimistic", "dadfailed", "home", "deprecated", "tentative", "mngtmpaddr",
                                          "noprefixroute", "autojoin", "stable-privacy", "dynamic"]
                        let ipFlags = Set(ipAddress.compactMap { words.contains($0.key) && $0.value as? Bool == true ? $0.key : nil })
                        #expect(Set(address["flags"] as? [String] ?? []) == ipFlags,
                                "address \(ipAddress["local"] ?? "") flags")
                    }
                    // Routes: every table, both families; ip leaves out the usual type, table, protocol and scope.
                    let routes = try await Self.all(service, "/v1/host/routes" + query)
                    let ipRoutes = try Self.ip(rig, a, ["-4", "route", "show", "table", "all"]) + Self.ip(rig, a, ["-6", "route", "show", "table", "all"])
                    let fields = ["type", "dst", "gateway", "dev", "table", "protocol", "scope", "prefsrc", "metric", "flags", "pref"]
                    let usual: [String: String] = ["type": "unicast", "table": "main", "protocol": "boot", "scope": "global"]
                    func key(_ route: [String: Any]) -> String {
                        fields.map { field in
                            let value = Self.text(route[field])
                            return value == "-" ? (usual[field] ?? "-") : value
                        }.joined(separator: "|")
                    }
                    #expect(routes.map(key).sorted() == ipRoutes.map(key).sorted(), "routes")
                    #expect(routes.contains { $0["dst"] as? String == "10.77.0.0/16" && $0["metric"] as? Int == 7 })
                    // Neighbours.
                    let neighbours = try await Self.all(service, "/v1/host/neighbours" + query)
                    let ipNeighbours = try Self.ip(rig, a, ["neigh", "show", "nud", "all"])
                    let neighbourKey = { (entry: [String: Any]) in ["dst", "dev", "lladdr", "state"].map { Self.text(entry[$0]) }.joined(separator: "|") }
                    #expect(neighbours.map(neighbourKey).sorted() == ipNeighbours.map(neighbourKey).sorted(), "neighbours")
                    #expect(neighbours.contains { $0["dst"] as? String == "10.99.0.9" && $0["state"] as? [String] == ["PERMANENT"] })
                    // Not allowed: 403; the service's own namespace needs no flag.
                    let other = try await service.request("GET", "/v1/host/links?netns=\(rig.hosts[1].name)")
                    try expectProblem(other, status: 403, field: "netns")
                    let own = try await service.expecting(200, "GET", "/v1/host/links", nil)
                    #expect((own["items"] as? [[String: Any]])?.contains { $0["ifname"] as? String == "lo" } == true)
                }
            }
        }
    }
}

extension EndToEndTests.HostNetworkTests {
    @Test("the socket table: a managed TCP pair with its ids, tcp_info and congestion; a test process's listener with its pid; filters agree with ss")
    func socketTable() async throws {
        try await NamespaceRig.with(hosts: 1) { rig in
            let a = rig.hosts[0]
            // A listener held by a process of its own, inside a.
            let python = Process()
            python.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            python.arguments = ["netns", "exec", a.name, "python3", "-c",
                                "import socket,sys; s=socket.socket(); s.bind(('0.0.0.0', 4242)); s.listen(); print('ready', flush=True); sys.stdin.read()"]
            let output = Pipe(), input = Pipe()
            python.standardOutput = output
            python.standardInput = input
            try python.run()
            defer {
                try? input.fileHandleForWriting.close()  // end of input: the process exits
                python.waitUntilExit()
            }
            _ = output.fileHandleForReading.availableData  // "ready": the listener is up
            var options = ServiceOptions()
            options.allowNetns = [a.name]
            try await withService(options) { service in
                // A managed connection inside a, to the process's listener.
                let client = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                      ["family": "inet", "type": "stream", "netns": a.name])["id"] as? String)
                try await service.connect(client, ["host": "127.0.0.1", "port": 4242])
                let query = "/v1/host/sockets?netns=\(a.name)&protocol=tcp"
                let listeners = try await Self.all(service, query + "&state=listen&port=4242")
                #expect(listeners.count == 1, "\(listeners)")
                let processes = listeners.first?["processes"] as? [[String: Any]] ?? []
                #expect(processes.contains { $0["pid"] as? Int != nil && $0["command"] as? String == "python3" }, "\(listeners)")
                let established = try await Self.all(service, query + "&state=established")
                let mine = try #require(established.first { $0["managed_socket_id"] as? String == client }, "\(established)")
                #expect((mine["tcp_info"] as? [String: Any])?["state"] as? String == "established")
                #expect((mine["congestion"] as? String)?.isEmpty == false && mine["cookie"] as? String != nil)
                #expect((mine["peer_address"] as? [String: Any])?["port"] as? Int == 4242)
                // The same filters as ss: counts of rows in a.
                let ssListen = try rig.exec(a, ["ss", "-Htan", "state", "listening", "sport", "=", ":4242"]).split(separator: "\n").count
                let ssEstablished = try rig.exec(a, ["ss", "-Htan", "state", "established"]).split(separator: "\n").count
                #expect(listeners.count == ssListen && established.count == ssEstablished, "ss: \(ssListen) listening, \(ssEstablished) established")
                let bad = try await service.request("GET", "/v1/host/sockets?port=70000")
                try expectProblem(bad, status: 400)
            }
        }
    }
}

extension EndToEndTests.HostNetworkTests {
    @Test("a walk of the socket table lists every socket that stays open exactly once, while others close and open between its pages")
    func socketWalkUnderChurn() async throws {
        try await NamespaceRig.with(hosts: 1) { rig in
            let a = rig.hosts[0]
            var options = ServiceOptions()
            options.allowNetns = [a.name]
            try await withService(options) { service in
                func listener() async throws -> String {
                    let id = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                      ["family": "inet", "type": "stream", "netns": a.name])["id"] as? String)
                    try await service.bind(id, ["host": "127.0.0.1", "port": 0])
                    try await service.listen(id)
                    return id
                }
                var listeners: [String] = []
                for _ in 0..<8 { listeners.append(try await listener()) }
                let path = "/v1/host/sockets?netns=\(a.name)&protocol=tcp&state=listen&limit=3"
                func page(_ cursor: String?) async throws -> ([String], String?) {
                    let answer = try await service.expecting(200, "GET", path + (cursor.map { "&cursor=\($0)" } ?? ""), nil)
                    let items = try #require(answer["items"] as? [[String: Any]])
                    return (items.compactMap { $0["managed_socket_id"] as? String }, answer["next_cursor"] as? String)
                }
                // Page 1; then the first socket of it closes and a new one opens before page 2, and the first of page 2
                // closes before page 3. A cursor by position would skip a row on each of those pages.
                var (seen, cursor) = try await page(nil)
                #expect(seen.count == 3 && cursor != nil, "\(seen)")
                _ = try await service.expecting(204, "DELETE", "/v1/sockets/\(seen[0])", nil)
                var closed = [seen[0]]
                _ = try await listener()  // where it lands depends on its inode: listed or not, it moves no other row
                var pages = 1
                while let next = cursor {
                    let (items, following) = try await page(next)
                    if pages == 1, let first = items.first {
                        _ = try await service.expecting(204, "DELETE", "/v1/sockets/\(first)", nil)
                        closed.append(first)
                    }
                    seen += items
                    cursor = following
                    pages += 1
                }
                #expect(Set(seen).count == seen.count, "listed twice: \(seen)")
                let stayed = Set(listeners).subtracting(closed)
                #expect(stayed.isSubset(of: Set(seen)), "never listed: \(stayed.subtracting(seen))")
                // A cursor the server did not give: 400 naming it.
                for bad in ["1000", "2.tcp.1", "2.TCP.1.1", "2.tcp.99999999999.1", "+2.tcp.1.1"] {
                    try expectProblem(try await service.request("GET", path + "&cursor=\(bad)"), status: 400, field: "cursor")
                }
                // Any cursor the contract's pattern takes is answered: past every socket, an empty last page.
                for far in ["99999.zzz.9999999999.99999999999999999999", "2.tcp.4294967296.1"] {
                    let page = try await service.expecting(200, "GET", path + "&cursor=\(far)", nil)
                    #expect((page["items"] as? [Any])?.isEmpty == true && page["next_cursor"] == nil, "\(page)")
                }
            }
        }
    }
}

extension EndToEndTests.HostNetworkTests {
    /// The hex of an rtnetlink attribute (`struct rtattr` and its value, padded to 4 bytes).
    static func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        let length = UInt16(4 + value.count)
        return [UInt8(length & 0xff), UInt8(length >> 8), UInt8(type & 0xff), UInt8(type >> 8)] + value
            + [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// RTM_NEWADDR's payload: ifaddrmsg (AF_INET, prefix length, flags 0, scope 0, interface index) and IFA_LOCAL.
    static func newAddress(prefix: UInt8, index: UInt32, address: [UInt8]) -> String {
        hex([2, prefix, 0, 0] + withUnsafeBytes(of: index.littleEndian, Array.init) + attribute(2, address))
    }

    @Test("a managed route netlink socket dumps the links the view shows; a write is 403 without --allow-netlink-writes, and with it the kernel's errno and text")
    func managedNetlinkSockets() async throws {
        try await NamespaceRig.with(hosts: 1) { rig in
            let a = rig.hosts[0]
            var options = ServiceOptions()
            options.allowNetns = [a.name]
            try await withService(options) { service in
                let socket = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                      ["family": "netlink", "type": "raw", "protocol": "route", "netns": a.name])["id"] as? String)
                let bound = try await service.bind(socket, ["netlink": ["pid": 0]])
                #expect(((bound["local_address"] as? [String: Any])?["netlink"] as? [String: Any])?["pid"] as? Int ?? 0 > 0, "\(bound)")
                // RTM_GETLINK dump (NLM_F_REQUEST | NLM_F_DUMP), an empty ifinfomsg.
                try await service.expecting(200, "POST", "/v1/sockets/\(socket)/send", [
                    "data": String(repeating: "00", count: 16), "encoding": "hex", "netlink": ["type": 18, "flags": 0x301, "seq": 9],
                ])
                var names: [String] = []
                var done = false
                while !done {
                    let received = try await service.expecting(200, "POST", "/v1/sockets/\(socket)/receive",
                                                               ["timeout_ms": 2000, "encoding": "hex", "max_bytes": 65536])
                    let messages = try #require(received["netlink_messages"] as? [[String: Any]], "\(received)")
                    for message in messages {
                        #expect(message["seq"] as? Int == 9)
                        if message["type"] as? Int == 3 { done = true }
                        guard message["type"] as? Int == 16 else { continue }
                        let ifname = (message["attributes"] as? [[String: Any]] ?? []).first { $0["type"] as? Int == 3 }?["value"] as? String ?? ""
                        let bytes = stride(from: 0, to: ifname.count, by: 2).compactMap { UInt8(ifname.dropFirst($0).prefix(2), radix: 16) }
                        names.append(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
                    }
                }
                let view = try await Self.all(service, "/v1/host/links?netns=\(a.name)")
                #expect(names.sorted() == view.compactMap { $0["ifname"] as? String }.sorted(), "\(names)")
                // RTM_NEWADDR changes the kernel's state: refused without the flag.
                let write = try await service.request("POST", "/v1/sockets/\(socket)/send", json: [
                    "data": Self.newAddress(prefix: 24, index: 1, address: [10, 1, 1, 1]), "encoding": "hex", "netlink": ["type": 20],
                ])
                let problem = try expectProblem(write, status: 403, field: "netlink.type")
                #expect((problem["detail"] as? String)?.contains("--allow-netlink-writes") == true)
            }
            options.raw.netlinkWrites = true
            try await withService(options) { service in
                let socket = try #require(try await service.expecting(201, "POST", "/v1/sockets",
                                                                      ["family": "netlink", "type": "raw", "protocol": "route", "netns": a.name])["id"] as? String)
                try await service.expecting(200, "POST", "/v1/sockets/\(socket)/send", [
                    "data": Self.newAddress(prefix: 33, index: 1, address: [10, 1, 1, 1]), "encoding": "hex", "netlink": ["type": 20],
                ])
                let refused = try await service.expecting(200, "POST", "/v1/sockets/\(socket)/receive", ["timeout_ms": 2000, "encoding": "hex"])
                let error = try #require((refused["netlink_messages"] as? [[String: Any]])?.first, "\(refused)")
                #expect(error["type"] as? Int == 2 && error["errno"] as? String == "EINVAL")
                #expect((error["error_message"] as? String)?.contains("Invalid prefix length") == true, "\(error)")
                try await service.expecting(200, "POST", "/v1/sockets/\(socket)/send", [
                    "data": Self.newAddress(prefix: 24, index: 1, address: [10, 1, 1, 1]), "encoding": "hex", "netlink": ["type": 20],
                ])
                let acknowledged = try await service.expecting(200, "POST", "/v1/sockets/\(socket)/receive", ["timeout_ms": 2000, "encoding": "hex"])
                #expect((acknowledged["netlink_messages"] as? [[String: Any]])?.first?["errno"] == nil, "an ack: \(acknowledged)")
                let addresses = try await Self.all(service, "/v1/host/addresses?netns=\(a.name)")
                #expect(addresses.contains { $0["local"] as? String == "10.1.1.1" && $0["prefixlen"] as? Int == 24 })
            }
        }
    }
}

extension EndToEndTests.HostNetworkTests {
    @Test("live link events in order (a veth added, brought up, deleted); a tiny buffer and 300 address changes give an overrun and a snapshot that, with the changes after it, equals ip -j addr")
    func liveHostEvents() async throws {
        try await NamespaceRig.with(hosts: 1) { rig in
            let a = rig.hosts[0]
            var options = ServiceOptions()
            options.allowNetns = [a.name]
            try await withService(options) { service in
                for groups in ["link,,route", ",link", "link,", "links"] {
                    try expectProblem(try await service.request("GET", "/v1/host/events?groups=\(groups)"), status: 400, field: "groups")
                }
                // Links.
                let links = try await offload { try EventStreamClient(port: service.port, target: "/v1/host/events?netns=\(a.name)&groups=link") }
                defer { links.close() }
                #expect(links.status == 200)
                _ = try await offload { try links.next() }  // ": connected": subscribed
                try rig.exec(a, ["ip", "link", "add", "t0", "type", "veth", "peer", "name", "t1"])
                try rig.exec(a, ["ip", "link", "set", "t0", "up"])
                try rig.exec(a, ["ip", "link", "del", "t0"])
                var seen: [String] = []
                while !seen.contains("del t0") {
                    let frame = try #require(try await offload { try links.nextEvent() })
                    guard frame.event == "link", let json = frame.json, let item = json["item"] as? [String: Any],
                          item["ifname"] as? String == "t0" else { continue }
                    let up = (item["flags"] as? [String] ?? []).contains("UP")
                    seen.append("\(json["action"] as? String ?? "") t0\(up ? " up" : "")")
                }
                let firstNew = seen.firstIndex(of: "new t0"), firstUp = seen.firstIndex(of: "new t0 up")
                #expect(firstNew != nil && firstUp != nil && firstNew! < firstUp! && seen.last == "del t0", "\(seen)")
                // Addresses: overrun, snapshot, then changes; the state they make equals ip's. Each round puts 300
                // addresses on a new link and deletes it: the kernel then sends 300 RTM_DELADDR at once, more than a tiny
                // buffer holds — unless the reader happens to drain it as fast (a busy machine can preempt the kernel's
                // loop), so rounds repeat, up to ten, until one overruns. A marker address, new each round, says that
                // everything of the round has been read.
                func addressSet() throws -> Set<String> {
                    Set(try Self.ip(rig, a, ["addr"]).flatMap { link in
                        (link["addr_info"] as? [[String: Any]] ?? []).map { "\(link["ifindex"] ?? 0) \($0["local"] ?? "")" }
                    })
                }
                var state = try addressSet()  // nothing changes between this read and the subscription
                let addresses = try await offload {
                    try EventStreamClient(port: service.port, target: "/v1/host/events?netns=\(a.name)&groups=address&receive_buffer=1024")
                }
                defer { addresses.close() }
                _ = try await offload { try addresses.next() }
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("sockpit-events-batch-\(getpid())")
                defer { try? FileManager.default.removeItem(at: file) }
                var overrun = false, snapshotAfterOverrun = false
                var expected: Set<String> = []
                for round in 1...10 where !snapshotAfterOverrun {
                    let batch = ["link add t2 type veth peer name t3"] + (1...300).map { "addr add 10.50.\($0 / 250).\($0 % 250 + 1)/32 dev t2" }
                    try batch.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
                    try rig.exec(a, ["ip", "-batch", file.path])
                    try rig.exec(a, ["ip", "link", "del", "t2"])
                    try rig.exec(a, ["ip", "addr", "add", "10.51.0.\(round)/32", "dev", "lo"])
                    expected = try addressSet()
                    var resynced = !overrun
                    while !(state == expected && resynced) {
                        let frame = try #require(try await offload { try addresses.nextEvent() }, "round \(round): state \(state.count) of \(expected.count)")
                        switch frame.event {
                        case "overrun":
                            overrun = true
                            resynced = false
                        case "snapshot":
                            if overrun { snapshotAfterOverrun = true }
                            resynced = true
                            state = Set((frame.json?["items"] as? [[String: Any]] ?? []).map { "\($0["ifindex"] ?? 0) \($0["local"] ?? "")" })
                        case "address":
                            guard let json = frame.json, let item = json["item"] as? [String: Any] else { continue }
                            let key = "\(item["ifindex"] ?? 0) \(item["local"] ?? "")"
                            if json["action"] as? String == "del" { state.remove(key) } else { state.insert(key) }
                        default: break
                        }
                    }
                }
                #expect(overrun && snapshotAfterOverrun && state == expected, "an overrun in ten rounds, then a snapshot")
            }
        }
    }
}
