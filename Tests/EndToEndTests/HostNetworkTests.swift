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
