import Glibc
public import SocketKit

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
    /// The prefixes of the abstract Unix names sockets may bind, connect or send to; nil: any name.
    public let abstractPrefixes: [String]?

    /// Creates a policy from explicit rules; `defaultDeny` rules are the ones an allow rule may override.
    /// `abstractPrefixes` nil lets every abstract Unix name through; otherwise only names starting with one.
    public init(allow: [TargetRule], deny: [TargetRule], defaultDeny: [TargetRule], abstractPrefixes: [String]? = nil) {
        self.init(allow: allow, deny: deny, explainedDefaultDeny: defaultDeny.map {
            ($0, "\($0) is denied by default; an allow rule overrides this")
        }, abstractPrefixes: abstractPrefixes)
    }

    private init(allow: [TargetRule], deny: [TargetRule], explainedDefaultDeny: [(rule: TargetRule, reason: String)],
                 abstractPrefixes: [String]?) {
        self.allow = allow
        self.deny = deny
        self.defaultDeny = explainedDefaultDeny
        self.abstractPrefixes = abstractPrefixes
    }

    /// The policy the service starts with.
    ///
    /// With the API on loopback only, whoever calls it already runs on this host: nothing is denied by default.
    /// Otherwise loopback (127.0.0.0/8, ::1/128), link-local (169.254.0.0/16 with the cloud metadata address
    /// 169.254.169.254, fe80::/10), unspecified (0.0.0.0/32, ::/128, which Linux connects to this host) and
    /// each of `hostAddresses` (/32 or /128; Unix and netlink entries are ignored; nil: this host's interface
    /// addresses, read now) are denied by default. So are abstract Unix names, which hold this host's own
    /// services (D-Bus, containerd, X11) and are not confined to a directory: only names starting with one of
    /// `allowAbstract` are taken.
    public static func defaults(apiOnLoopbackOnly: Bool, hostAddresses: [SocketAddress]? = nil,
                                allow: [TargetRule], deny: [TargetRule], allowAbstract: [String] = []) -> TargetPolicy {
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
        // A broadcast reaches every host on the segment, this one included.
        let broadcasts = ["255.255.255.255/32"] + (hostAddresses == nil ? ((try? InterfaceAddresses.broadcasts()) ?? []) : [])
            .compactMap { TargetRule(exactly: $0)?.description }
        for text in broadcasts {
            guard let rule = try? TargetRule(parsing: text), !rules.contains(where: { $0.rule.description == rule.description }) else { continue }
            rules.append((rule, "\(rule) is a broadcast address and reaches this host's own listeners too: \(suffix)"))
        }
        for address in hostAddresses ?? ((try? InterfaceAddresses.all()) ?? []) {
            // Skip what an earlier rule already covers (a host's 127.0.0.1, a repeated address).
            guard let rule = TargetRule(exactly: address), !rules.contains(where: { $0.rule.matches(address) }) else {
                continue
            }
            rules.append((rule, "\(rule) is an address of this host and reaches its own services: \(suffix)"))
        }
        return TargetPolicy(allow: allow, deny: deny, explainedDefaultDeny: rules, abstractPrefixes: allowAbstract)
    }

    /// Decides whether `address` may be reached; nothing is sent.
    ///
    /// Order: a matching deny rule denies; then a matching allow rule allows; then a matching default-deny
    /// rule denies; then a non-empty allow list denies the rest; everything else is allowed. Filesystem Unix
    /// addresses are allowed here (``UnixPathConfinement`` confines them), abstract names as ``decide(abstract:)``
    /// says, and netlink and link-layer ones always: rules are about IP; the kernel's own privilege checks govern
    /// netlink, and packet sockets are off unless `--allow-packet-sockets`.
    public func decide(_ address: SocketAddress) -> Decision {
        switch address {
        case .unix, .netlink, .link: return .allowed
        case .abstract(let name): return decide(abstract: name)
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

    /// Whether a socket may bind, connect or send to the abstract Unix name `name`.
    public func decide(abstract name: String) -> Decision {
        guard let prefixes = abstractPrefixes, !prefixes.contains(where: { name.hasPrefix($0) }) else { return .allowed }
        let allowed = prefixes.isEmpty ? "none is allowed" : "allowed: names starting with " + prefixes.map { "'\($0)'" }.joined(separator: ", ")
        return .denied(rule: "abstract", reason: "abstract Unix names hold this host's own services and are denied by default because "
            + "the API listens beyond loopback (\(allowed)); --allow-abstract PREFIX allows names starting with PREFIX")
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
