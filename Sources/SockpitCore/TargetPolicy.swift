import Glibc
public import SocketKit

/// One CIDR block, optionally narrowed to ports, that a target address can match.
///
/// Text form: `CIDR` or `CIDR:PORTS`, where PORTS is `N`, `N-M` or a comma list of those; an IPv6 block is
/// written in brackets when ports follow (`[::1]/128:22,80-90`). A bare address is a /32 or /128. Host bits
/// past the prefix are cleared (`10.1.2.3/8` is `10.0.0.0/8`) and ports are sorted and merged, so equal
/// rules print alike. Host names are refused: what a name resolves to can change after the rule is checked.
public struct TargetRule: Sendable, Equatable, CustomStringConvertible {
    /// The address block, host bits cleared.
    private enum Block: Sendable, Equatable {
        case v4(network: UInt32, prefix: Int)
        case v6(network: UInt128, prefix: Int)
    }

    private let block: Block
    /// Sorted, disjoint, non-adjacent port ranges; empty means every port.
    private let ports: [ClosedRange<UInt16>]

    /// Parses `CIDR` or `CIDR:PORTS` ("10.0.0.0/8", "127.0.0.0/8:1-1024", "::1/128", "[fe80::]/10:53").
    ///
    /// Throws `SockpitError(.invalid, …, field: field)` whose detail quotes the rule and says what is wrong.
    public init(parsing text: String, field: String = "rule") throws(SockpitError) {
        do {
            (block, ports) = try Self.parse(text)
        } catch {
            throw SockpitError(.invalid, "target rule '\(text)': \(error.reason)", field: field)
        }
    }

    /// The rule for exactly one address (any port): /32 for IPv4, /128 for IPv6; `nil` for other kinds.
    init?(exactly address: SocketAddress) {
        switch TargetIP(address) {
        case .v4(let bits)?: block = .v4(network: bits, prefix: 32)
        case .v6(let bits)?: block = .v6(network: bits, prefix: 128)
        case nil: return nil
        }
        ports = []
    }

    /// Whether `address` is in the block and on one of the ports.
    ///
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is what a dual-stack socket uses to reach `a.b.c.d`,
    /// so it matches IPv4 rules as well as IPv6 ones. Unix, abstract and netlink addresses never match.
    public func matches(_ address: SocketAddress) -> Bool {
        guard let ip = TargetIP(address), let port = address.port else { return false }
        guard ports.isEmpty || ports.contains(where: { $0.contains(port) }) else { return false }
        switch (block, ip) {
        case (.v4(let network, let prefix), .v4(let bits)):
            return bits & Self.mask(prefix) == network
        case (.v4(let network, let prefix), .v6(let bits)):
            guard bits >> 32 == 0xffff else { return false }
            return UInt32(truncatingIfNeeded: bits) & Self.mask(prefix) == network
        case (.v6(let network, let prefix), .v6(let bits)):
            return bits & Self.mask(prefix) == network
        case (.v6, .v4):
            // Deliberately no mapping this way: "deny ::/0" must not silently deny all of IPv4.
            return false
        }
    }

    /// The canonical text, which ``init(parsing:field:)`` reads back to an equal rule.
    public var description: String {
        let portText = ports.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
        switch block {
        case .v4(let network, let prefix):
            let dotted = [24, 16, 8, 0].map { String((network >> UInt32($0)) & 0xff) }.joined(separator: ".")
            return ports.isEmpty ? "\(dotted)/\(prefix)" : "\(dotted)/\(prefix):\(portText)"
        case .v6(let network, let prefix):
            let text = TargetIP.text(network)
            return ports.isEmpty ? "\(text)/\(prefix)" : "[\(text)]/\(prefix):\(portText)"
        }
    }

    // MARK: Parsing

    /// Why text is not a rule; becomes the end of the error's detail.
    private struct ParseFailure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private static func parse(_ raw: String) throws(ParseFailure) -> (Block, [ClosedRange<UInt16>]) {
        let text = raw.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
        let rule = String(text)
        guard !rule.isEmpty else { throw ParseFailure("a rule must not be empty") }

        if rule.hasPrefix("[") {
            guard let close = rule.firstIndex(of: "]") else { throw ParseFailure("missing ']' after the IPv6 address") }
            let address = rule[rule.index(after: rule.startIndex)..<close]
            var rest = rule[rule.index(after: close)...]
            var prefix: Substring?
            if rest.first == "/" {
                let end = rest.firstIndex(of: ":") ?? rest.endIndex
                prefix = rest[rest.index(after: rest.startIndex)..<end]
                rest = rest[end...]
            }
            guard rest.isEmpty || rest.first == ":" else { throw ParseFailure("unexpected '\(rest)' after ']'") }
            guard let bits = TargetIP.parseV6(address) else {
                if TargetIP.parseV4(address) != nil { throw ParseFailure("brackets are for IPv6 addresses only") }
                throw ParseFailure("'\(address)' is not a numeric IPv6 address")
            }
            let block = try v6Block(bits, prefix: prefix)
            return (block, rest.isEmpty ? [] : try parsePorts(rest.dropFirst()))
        }

        let colons = rule.count(where: { $0 == ":" })
        if colons >= 2 {
            // Unbracketed IPv6: no ports allowed. A ':' after the '/' can only mean ports were meant.
            let slash = rule.firstIndex(of: "/")
            if let slash, rule[slash...].contains(":") {
                throw ParseFailure("an IPv6 rule with ports needs brackets, as in [::1]/128:22")
            }
            let address = rule[..<(slash ?? rule.endIndex)]
            guard let bits = TargetIP.parseV6(address) else {
                throw ParseFailure("'\(address)' is not a numeric IPv4 or IPv6 address")
            }
            return (try v6Block(bits, prefix: slash.map { rule[rule.index(after: $0)...] }), [])
        }

        let colon = rule.firstIndex(of: ":")
        let cidr = rule[..<(colon ?? rule.endIndex)]
        guard !cidr.isEmpty else { throw ParseFailure("missing the address before ':'") }
        let slash = cidr.firstIndex(of: "/")
        let address = cidr[..<(slash ?? cidr.endIndex)]
        guard let bits = TargetIP.parseV4(address) else {
            throw ParseFailure("'\(address)' is not a numeric IPv4 or IPv6 address")
        }
        let prefix = try prefixLength(slash.map { cidr[cidr.index(after: $0)...] }, maximum: 32, family: "IPv4")
        let ports = try colon.map { c throws(ParseFailure) in try parsePorts(rule[rule.index(after: c)...]) } ?? []
        return (.v4(network: bits & mask(prefix), prefix: prefix), ports)
    }

    private static func v6Block(_ bits: UInt128, prefix text: Substring?) throws(ParseFailure) -> Block {
        let prefix = try prefixLength(text, maximum: 128, family: "IPv6")
        return .v6(network: bits & mask(prefix), prefix: prefix)
    }

    /// The prefix length after '/', or the full length when there is no '/'.
    private static func prefixLength(_ text: Substring?, maximum: Int, family: String) throws(ParseFailure) -> Int {
        guard let text else { return maximum }
        guard !text.isEmpty else { throw ParseFailure("missing the prefix length after '/'") }
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ParseFailure("prefix length '\(text)' is not a number")
        }
        guard let value = Int(text), value <= maximum else {
            throw ParseFailure("prefix length \(text) is outside 0...\(maximum) for \(family)")
        }
        return value
    }

    /// Parses "N", "N-M" or a comma list of those into sorted, merged ranges; all of 0...65535 becomes "any".
    private static func parsePorts(_ text: Substring) throws(ParseFailure) -> [ClosedRange<UInt16>] {
        guard !text.isEmpty else { throw ParseFailure("no ports after ':'") }
        var ranges: [ClosedRange<UInt16>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw ParseFailure("empty item in the port list '\(text)'") }
            let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            let low = try port(bounds[0])
            let high = bounds.count == 2 ? try port(bounds[1]) : low
            guard low <= high else { throw ParseFailure("port range \(item) runs backwards") }
            ranges.append(low...high)
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt16>] = []
        for range in ranges {
            if let last = merged.last, Int(range.lowerBound) <= Int(last.upperBound) + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged == [0...UInt16.max] ? [] : merged
    }

    private static func port(_ text: Substring) throws(ParseFailure) -> UInt16 {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ParseFailure("'\(text)' is not a port number")
        }
        guard let value = Int(text), let port = UInt16(exactly: value) else {
            throw ParseFailure("port \(text) is outside 0...65535")
        }
        return port
    }

    private static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << (32 - prefix) }
    private static func mask(_ prefix: Int) -> UInt128 { prefix == 0 ? 0 : UInt128.max << (128 - prefix) }
}

/// An IP address as one number, most significant byte first, for prefix arithmetic.
///
/// SocketKit keeps the bytes of `IPv4Address`/`IPv6Address` internal, so they are read back from their
/// `inet_ntop` text with `inet_pton`: exact, and about a microsecond per decision.
private enum TargetIP {
    case v4(UInt32)
    case v6(UInt128)

    /// The address of an IPv4 or IPv6 socket address; `nil` for every other kind. The IPv6 zone is ignored.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let host, _):
            guard let bits = Self.parseV4(Substring(host.description)) else { return nil }
            self = .v4(bits)
        case .v6(let host, _, _):
            guard let bits = Self.parseV6(Substring(host.description)) else { return nil }
            self = .v6(bits)
        case .unix, .abstract, .netlink:
            return nil
        }
    }

    static func parseV4(_ text: Substring) -> UInt32? {
        var address = in_addr()
        guard inet_pton(AF_INET, String(text), &address) == 1 else { return nil }
        return UInt32(bigEndian: address.s_addr)
    }

    static func parseV6(_ text: Substring) -> UInt128? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, String(text), &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { $0.reduce(UInt128(0)) { $0 << 8 | UInt128($1) } }
    }

    /// RFC 5952 text of a 128-bit address.
    static func text(_ bits: UInt128) -> String {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { bytes in
            for index in 0..<16 { bytes[index] = UInt8(truncatingIfNeeded: bits >> (8 * (15 - index))) }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { buffer in
            guard let text = inet_ntop(AF_INET6, &address, buffer.baseAddress, socklen_t(buffer.count)) else { return "?" }
            return String(cString: text)
        }
    }
}

/// Which addresses `connect` and `send` with `to` may reach.
///
/// A service that opens sockets for remote clients is an open proxy into wherever it runs: its own
/// loopback services, the link-local cloud metadata endpoint, its own addresses. ``defaults(apiOnLoopbackOnly:hostAddresses:allow:deny:)``
/// closes those when the API is reachable from elsewhere; an explicit allow rule reopens what is needed.
public struct TargetPolicy: Sendable {
    /// The outcome for one address.
    public enum Decision: Sendable, Equatable {
        /// The address may be reached.
        case allowed
        /// The address may not be reached: `rule` is the canonical text of the deciding rule (empty when the
        /// allow list left it out), `reason` a sentence for the client.
        case denied(rule: String, reason: String)
    }

    private let allow: [TargetRule]
    private let deny: [TargetRule]
    /// Default-deny rules with the sentence that explains each.
    private let defaultDeny: [(rule: TargetRule, reason: String)]

    /// Creates a policy from explicit rules; `defaultDeny` rules are the ones an allow rule may override.
    public init(allow: [TargetRule], deny: [TargetRule], defaultDeny: [TargetRule]) {
        self.init(allow: allow, deny: deny, explainedDefaultDeny: defaultDeny.map {
            ($0, "\($0) is denied by default; an allow rule overrides this")
        })
    }

    private init(allow: [TargetRule], deny: [TargetRule], explainedDefaultDeny: [(rule: TargetRule, reason: String)]) {
        self.allow = allow
        self.deny = deny
        self.defaultDeny = explainedDefaultDeny
    }

    /// The policy the service starts with.
    ///
    /// With the API on loopback only, whoever calls it already runs on this host: nothing is denied by default.
    /// Otherwise loopback (127.0.0.0/8, ::1/128), link-local (169.254.0.0/16 with the cloud metadata address
    /// 169.254.169.254, fe80::/10), unspecified (0.0.0.0/32, ::/128, which Linux connects to this host) and
    /// each of `hostAddresses` (/32 or /128; Unix and netlink entries are ignored) are denied by default.
    public static func defaults(apiOnLoopbackOnly: Bool, hostAddresses: [SocketAddress],
                                allow: [TargetRule], deny: [TargetRule]) -> TargetPolicy {
        guard !apiOnLoopbackOnly else { return TargetPolicy(allow: allow, deny: deny, defaultDeny: []) }
        let suffix = "denied by default because the API listens beyond loopback; an allow rule overrides this"
        var rules: [(rule: TargetRule, reason: String)] = [
            ("127.0.0.0/8", "loopback addresses reach this host's own services"),
            ("::1/128", "loopback addresses reach this host's own services"),
            ("169.254.0.0/16", "link-local addresses include the cloud metadata service 169.254.169.254"),
            ("fe80::/10", "link-local addresses reach only the local network segment"),
            ("0.0.0.0/32", "the unspecified address reaches this host's own services"),
            ("::/128", "the unspecified address reaches this host's own services"),
        ].map { text, why in
            // The texts above are constants of this file; a failure here is a programming error.
            guard let rule = try? TargetRule(parsing: text) else { preconditionFailure("bad built-in rule \(text)") }
            return (rule, "\(why): \(suffix)")
        }
        for address in hostAddresses {
            // Skip what an earlier rule already covers (a host's 127.0.0.1, a repeated address).
            guard let rule = TargetRule(exactly: address), !rules.contains(where: { $0.rule.matches(address) }) else {
                continue
            }
            rules.append((rule, "\(rule) is an address of this host and reaches its own services: \(suffix)"))
        }
        return TargetPolicy(allow: allow, deny: deny, explainedDefaultDeny: rules)
    }

    /// Decides whether `address` may be reached; nothing is sent.
    ///
    /// Order: a matching deny rule denies; then a matching allow rule allows; then a matching default-deny
    /// rule denies; then a non-empty allow list denies the rest; everything else is allowed. Unix and abstract
    /// addresses are always allowed here (``UnixPathConfinement`` confines them), and so are netlink ones:
    /// rules are about IP, and the kernel's own privilege checks govern netlink.
    public func decide(_ address: SocketAddress) -> Decision {
        switch address {
        case .unix, .abstract, .netlink: return .allowed
        case .v4, .v6: break
        }
        if let rule = deny.first(where: { $0.matches(address) }) {
            return .denied(rule: rule.description, reason: "\(address) matches the deny rule \(rule)")
        }
        if allow.contains(where: { $0.matches(address) }) { return .allowed }
        if let entry = defaultDeny.first(where: { $0.rule.matches(address) }) {
            return .denied(rule: entry.rule.description, reason: entry.reason)
        }
        if !allow.isEmpty { return .denied(rule: "", reason: "\(address) is not in the allow list") }
        return .allowed
    }

    /// Throws `SockpitError(.forbidden, …, field: field)` when ``decide(_:)`` denies `address`.
    public func check(_ address: SocketAddress, field: String) throws(SockpitError) {
        guard case .denied(_, let reason) = decide(address) else { return }
        throw SockpitError(.forbidden, "the target policy does not allow \(address): \(reason)", field: field)
    }

    /// The explicit allow rules, as canonical text (for capabilities).
    public var allowRules: [String] { allow.map(\.description) }

    /// The explicit deny rules, as canonical text (for capabilities).
    public var denyRules: [String] { deny.map(\.description) }

    /// The default-deny rules in force, as canonical text (for capabilities).
    public var defaultDenyRules: [String] { defaultDeny.map(\.rule.description) }
}
