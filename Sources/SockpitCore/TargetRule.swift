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
enum TargetIP {
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
        case .unix, .abstract, .netlink, .link:
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
