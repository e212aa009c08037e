import SocketKit
import SockpitCore
import Testing

/// `TargetRule` parsing and matching, and `TargetPolicy`'s decision order and defaults. Decisions are pure:
/// nothing here opens a socket or sends a packet.
@Suite struct TargetPolicyTests {
    /// Well-formed rules read back as their canonical text: host bits cleared, ports sorted and merged.
    @Test("valid rules parse to their canonical text", arguments: [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("127.0.0.0/8:1-1024", "127.0.0.0/8:1-1024"),
        ("::1/128", "::1/128"),
        ("[fe80::]/10:53", "[fe80::]/10:53"),
        ("[::1]/128:22,80-90", "[::1]/128:22,80-90"),
        ("192.0.2.7", "192.0.2.7/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("[2001:db8::1]:443", "[2001:db8::1]/128:443"),
        ("10.9.8.7/8", "10.0.0.0/8"),
        ("2001:db8:ffff::/32", "2001:db8::/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("::/0", "::/0"),
        ("1.2.3.4:80,22,20-25,26", "1.2.3.4/32:20-26,80"),
        ("1.2.3.4:0-65535", "1.2.3.4/32"),
        ("  10.0.0.0/8  ", "10.0.0.0/8"),
    ])
    func validRulesParse(text: String, canonical: String) throws {
        let rule = try TargetRule(parsing: text, field: "allow")
        #expect(rule.description == canonical)
        #expect(try TargetRule(parsing: rule.description, field: "allow") == rule)
    }

    /// Malformed rules fail as `.invalid` on the given field, with a detail that quotes the rule and says why.
    @Test("invalid rules are refused with the field and a detail naming the problem", arguments: [
        ("300.1.1.1/8", "'300.1.1.1' is not a numeric IPv4 or IPv6 address"),
        ("10.0.0.0/33", "prefix length 33 is outside 0...32 for IPv4"),
        ("::1/129", "prefix length 129 is outside 0...128 for IPv6"),
        ("10.0.0.0/8:70000", "port 70000 is outside 0...65535"),
        (":70000", "missing the address before ':'"),
        ("abc", "'abc' is not a numeric IPv4 or IPv6 address"),
        ("example.com:80", "'example.com' is not a numeric IPv4 or IPv6 address"),
        ("", "a rule must not be empty"),
        ("10.0.0.0/", "missing the prefix length after '/'"),
        ("10.0.0.0/x", "prefix length 'x' is not a number"),
        ("10.0.0.0/8:", "no ports after ':'"),
        ("10.0.0.0/8:22,", "empty item in the port list '22,'"),
        ("10.0.0.0/8:90-80", "port range 90-80 runs backwards"),
        ("10.0.0.0/8:http", "'http' is not a port number"),
        ("::1/128:22", "an IPv6 rule with ports needs brackets"),
        ("[10.0.0.1]:22", "brackets are for IPv6 addresses only"),
        ("[::1", "missing ']'"),
        ("[::1]x", "unexpected 'x' after ']'"),
        ("fe80::1%eth0", "'fe80::1%eth0' is not a numeric IPv4 or IPv6 address"),
    ])
    func invalidRulesAreRefused(text: String, why: String) {
        do {
            let rule = try TargetRule(parsing: text, field: "deny")
            Issue.record("'\(text)' parsed as \(rule)")
        } catch {
            #expect(error.kind == .invalid)
            #expect(error.field == "deny")
            #expect(error.detail.hasPrefix("target rule '\(text)': "))
            #expect(error.detail.contains(why), "\(error.detail)")
        }
    }

    @Test("an IPv4 rule matches addresses in its block only")
    func ipv4Matching() throws {
        let rule = try TargetRule(parsing: "10.0.0.0/8")
        #expect(rule.matches(try SocketAddress(host: "10.0.0.0", port: 1)))
        #expect(rule.matches(try SocketAddress(host: "10.255.255.255", port: 65535)))
        #expect(!rule.matches(try SocketAddress(host: "11.0.0.0", port: 1)))
        #expect(!rule.matches(try SocketAddress(host: "9.255.255.255", port: 1)))
        let everything = try TargetRule(parsing: "0.0.0.0/0")
        #expect(everything.matches(try SocketAddress(host: "203.0.113.9", port: 7)))
        #expect(!everything.matches(try SocketAddress(host: "2001:db8::1", port: 7)))
    }

    @Test("an IPv6 rule matches addresses in its block, whatever their zone")
    func ipv6Matching() throws {
        let rule = try TargetRule(parsing: "fe80::/10")
        #expect(rule.matches(try SocketAddress(host: "fe80::1", port: 53)))
        #expect(rule.matches(try SocketAddress(host: "febf:ffff::1", port: 53)))
        #expect(rule.matches(.v6(host: try IPv6Address("fe80::1"), port: 53, scopeID: 1)))
        #expect(!rule.matches(try SocketAddress(host: "fec0::1", port: 53)))
        #expect(!rule.matches(try SocketAddress(host: "169.254.0.1", port: 53)))
    }

    /// A dual-stack socket reaches 127.0.0.1 through ::ffff:127.0.0.1, so IPv4 rules must see through it.
    @Test("an IPv4-mapped IPv6 address matches IPv4 rules, and a plain IPv4 address does not match IPv6 rules")
    func mappedAddresses() throws {
        let loopback = try TargetRule(parsing: "127.0.0.0/8:22")
        #expect(loopback.matches(try SocketAddress(host: "::ffff:127.0.0.1", port: 22)))
        #expect(!loopback.matches(try SocketAddress(host: "::ffff:127.0.0.1", port: 23)))
        #expect(!loopback.matches(try SocketAddress(host: "::127.0.0.1", port: 22)))
        #expect(!loopback.matches(try SocketAddress(host: "::ffff:128.0.0.1", port: 22)))
        let mappedBlock = try TargetRule(parsing: "::ffff:0:0/96")
        #expect(mappedBlock.matches(try SocketAddress(host: "::ffff:10.1.1.1", port: 1)))
        #expect(!(try TargetRule(parsing: "::/0")).matches(try SocketAddress(host: "10.1.1.1", port: 1)))
    }

    @Test("port lists and ranges match their bounds inclusively and nothing else")
    func portRanges() throws {
        let rule = try TargetRule(parsing: "[::1]/128:22,80-90")
        for port in [22, 80, 85, 90] {
            #expect(rule.matches(try SocketAddress(host: "::1", port: port)), "port \(port)")
        }
        for port in [0, 21, 23, 79, 91, 65535] {
            #expect(!rule.matches(try SocketAddress(host: "::1", port: port)), "port \(port)")
        }
        let top = try TargetRule(parsing: "10.0.0.0/8:65535")
        #expect(top.matches(try SocketAddress(host: "10.0.0.1", port: 65535)))
        #expect(!top.matches(try SocketAddress(host: "10.0.0.1", port: 65534)))
    }

    @Test("Unix, abstract and netlink addresses never match a rule and are always allowed, even with an allow list")
    func nonIPAddresses() throws {
        let all = try TargetRule(parsing: "0.0.0.0/0")
        let policy = TargetPolicy(allow: [try TargetRule(parsing: "192.0.2.1")], deny: [all], defaultDeny: [all])
        for address: SocketAddress in [.unix(path: "/tmp/x.sock"), .abstract(name: "x"), .netlink(pid: 0, groups: 0)] {
            #expect(!all.matches(address))
            #expect(policy.decide(address) == .allowed)
        }
    }

    @Test("a deny rule beats an allow rule that also matches")
    func denyBeatsAllow() throws {
        let policy = TargetPolicy(allow: [try TargetRule(parsing: "10.0.0.0/8")],
                                  deny: [try TargetRule(parsing: "10.1.0.0/16:22")], defaultDeny: [])
        #expect(policy.decide(try SocketAddress(host: "10.1.2.3", port: 22))
            == .denied(rule: "10.1.0.0/16:22", reason: "10.1.2.3:22 matches the deny rule 10.1.0.0/16:22"))
        #expect(policy.decide(try SocketAddress(host: "10.1.2.3", port: 80)) == .allowed)
    }

    @Test("an allow rule overrides a default-deny rule, which still denies what is not allowed")
    func allowOverridesDefaultDeny() throws {
        let policy = TargetPolicy(allow: [try TargetRule(parsing: "127.0.0.1/32:8080")], deny: [],
                                  defaultDeny: [try TargetRule(parsing: "127.0.0.0/8")])
        #expect(policy.decide(try SocketAddress(host: "127.0.0.1", port: 8080)) == .allowed)
        guard case .denied(let rule, let reason) = policy.decide(try SocketAddress(host: "127.0.0.1", port: 22)) else {
            Issue.record("127.0.0.1:22 allowed")
            return
        }
        #expect(rule == "127.0.0.0/8")
        #expect(reason.contains("denied by default"))
    }

    @Test("a non-empty allow list denies every IP address it does not match; an empty one allows the rest")
    func allowListDeniesTheRest() throws {
        let listed = TargetPolicy(allow: [try TargetRule(parsing: "192.0.2.0/24")], deny: [], defaultDeny: [])
        #expect(listed.decide(try SocketAddress(host: "192.0.2.200", port: 443)) == .allowed)
        #expect(listed.decide(try SocketAddress(host: "198.51.100.1", port: 443))
            == .denied(rule: "", reason: "198.51.100.1:443 is not in the allow list"))
        let open = TargetPolicy(allow: [], deny: [], defaultDeny: [])
        #expect(open.decide(try SocketAddress(host: "198.51.100.1", port: 443)) == .allowed)
    }

    @Test("check throws forbidden on the given field with the reason, and returns when allowed")
    func checkThrowsForbidden() throws {
        let policy = TargetPolicy(allow: [], deny: [try TargetRule(parsing: "198.51.100.0/24")], defaultDeny: [])
        try policy.check(try SocketAddress(host: "192.0.2.1", port: 80), field: "address")
        let error = #expect(throws: SockpitError.self) {
            try policy.check(try SocketAddress(host: "198.51.100.1", port: 80), field: "address")
        }
        #expect(error?.kind == .forbidden)
        #expect(error?.field == "address")
        #expect(error?.detail.contains("matches the deny rule 198.51.100.0/24") == true)
    }

    @Test("with the API on loopback only the defaults deny nothing but keep the configured rules")
    func defaultsOnLoopback() throws {
        let policy = TargetPolicy.defaults(apiOnLoopbackOnly: true, hostAddresses: [try SocketAddress(host: "192.0.2.10", port: 0)],
                                           allow: [], deny: [try TargetRule(parsing: "198.51.100.0/24")])
        #expect(policy.defaultDenyRules.isEmpty)
        #expect(policy.denyRules == ["198.51.100.0/24"])
        for host in ["127.0.0.1", "::1", "169.254.169.254", "192.0.2.10", "0.0.0.0", "93.184.216.34"] {
            #expect(policy.decide(try SocketAddress(host: host, port: 80)) == .allowed, "\(host)")
        }
        #expect(policy.decide(try SocketAddress(host: "198.51.100.1", port: 80)) != .allowed)
    }

    /// Beyond loopback the service must not become a way into the host or the cloud metadata service.
    @Test("beyond loopback the defaults deny loopback, link-local, metadata, unspecified, broadcast and host addresses")
    func defaultsBeyondLoopback() throws {
        let hosts = [try SocketAddress(host: "192.0.2.10", port: 0), try SocketAddress(host: "2001:db8::10", port: 0),
                     try SocketAddress(host: "127.0.0.1", port: 0), try SocketAddress(host: "192.0.2.10", port: 0),
                     .unix(path: "/ignored")]
        let policy = TargetPolicy.defaults(apiOnLoopbackOnly: false, hostAddresses: hosts, allow: [], deny: [])
        #expect(policy.defaultDenyRules == ["127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10", "0.0.0.0/32",
                                            "::/128", "255.255.255.255/32", "192.0.2.10/32", "2001:db8::10/128"])
        #expect(policy.allowRules.isEmpty && policy.denyRules.isEmpty)
        let denied: [(String, String)] = [
            ("127.0.0.1", "127.0.0.0/8"), ("127.1.2.3", "127.0.0.0/8"), ("::ffff:127.0.0.1", "127.0.0.0/8"),
            ("::1", "::1/128"), ("169.254.169.254", "169.254.0.0/16"), ("fe80::1", "fe80::/10"),
            ("0.0.0.0", "0.0.0.0/32"), ("::", "::/128"), ("192.0.2.10", "192.0.2.10/32"),
            ("2001:db8::10", "2001:db8::10/128"),
        ]
        for (host, expected) in denied {
            guard case .denied(let rule, let reason) = policy.decide(try SocketAddress(host: host, port: 80)) else {
                Issue.record("\(host) allowed")
                continue
            }
            #expect(rule == expected, "\(host)")
            #expect(reason.contains("an allow rule overrides this"), "\(reason)")
        }
        guard case .denied(_, let metadata) = policy.decide(try SocketAddress(host: "169.254.169.254", port: 80)) else { return }
        #expect(metadata.contains("cloud metadata"))
        for host in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "192.0.2.11", "10.0.0.1"] {
            #expect(policy.decide(try SocketAddress(host: host, port: 443)) == .allowed, "\(host)")
        }
    }

    @Test("beyond loopback an explicit allow rule reopens a default-denied address and a deny rule still wins")
    func defaultsWithConfiguredRules() throws {
        let policy = TargetPolicy.defaults(apiOnLoopbackOnly: false, hostAddresses: [],
                                           allow: [try TargetRule(parsing: "127.0.0.1:5432")],
                                           deny: [try TargetRule(parsing: "93.184.216.0/24")])
        #expect(policy.allowRules == ["127.0.0.1/32:5432"])
        #expect(policy.decide(try SocketAddress(host: "127.0.0.1", port: 5432)) == .allowed)
        #expect(policy.decide(try SocketAddress(host: "127.0.0.1", port: 5433)) != .allowed)
        // The allow list is now non-empty: everything else is denied as not listed.
        #expect(policy.decide(try SocketAddress(host: "93.184.217.1", port: 80))
            == .denied(rule: "", reason: "93.184.217.1:80 is not in the allow list"))
        #expect(policy.decide(try SocketAddress(host: "93.184.216.34", port: 80))
            == .denied(rule: "93.184.216.0/24", reason: "93.184.216.34:80 matches the deny rule 93.184.216.0/24"))
    }
}
