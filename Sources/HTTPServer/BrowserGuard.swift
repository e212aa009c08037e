/// What the transport refuses before any handler, so that a web page cannot drive the API through the browser
/// of someone who can reach it (the service opens sockets on its host for whoever can).
///
/// - DNS rebinding: a page on `evil.example` whose name is made to resolve to 127.0.0.1 sends `Host:
///   evil.example`. A request whose `Host` is a name the service was not told to answer to is refused (421).
///   IP literals and `localhost` are always taken: a page cannot make a browser send them for its own origin.
/// - Cross-site requests: a page's `fetch(..., {mode: "no-cors"})` reaches the service without a preflight. A
///   request whose `Origin` is neither the service's own nor one allowed by `--cors-origin` is refused (403).
///
/// (The third part, bodies that must be declared JSON, is the API's: SockpitAPI's `JSONBodyMiddleware`.)
struct BrowserGuard: Sendable {
    /// Host names taken besides IP literals and `localhost` (lowercase, without port).
    let allowedHosts: Set<String>

    init(allowedHosts: [String]) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
    }

    /// The refusal for a request, or nil to serve it.
    func refusal(host: String?, origin: String?, corsAllowed: Bool) -> TransportProblem? {
        if let host, !takes(host: host) {
            return TransportProblem(
                status: 421, type: "https://sockpit.dev/problems/misdirected-request", title: "Misdirected Request",
                detail: "Host '\(host)' is not a name this server answers to (a defence against DNS rebinding); "
                    + "use its address, or start it with --allow-host \(Self.hostName(host) ?? host)")
        }
        if let origin, !corsAllowed, !Self.isSameOrigin(origin, host: host) {
            return TransportProblem(
                status: 403, type: "https://sockpit.dev/problems/cross-origin", title: "Forbidden",
                detail: "requests from the web page origin '\(origin)' are refused; start the server with "
                    + "--cors-origin \(origin) to let that page use the API")
        }
        return nil
    }

    /// Whether `host` (a `Host` header: name or address, optional port) is one the service answers to.
    func takes(host: String) -> Bool {
        guard let name = Self.hostName(host) else { return false }
        return name == "localhost" || Self.isIPLiteral(name) || allowedHosts.contains(name)
    }

    /// The name of a `Host` header without its port, lowercase; a bracketed IPv6 address keeps no brackets.
    static func hostName(_ host: String) -> String? {
        let host = host.lowercased()
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else { return nil }
            return String(host[host.index(after: host.startIndex)..<close])
        }
        let parts = host.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.first, !name.isEmpty else { return nil }
        if parts.count == 2 { guard !parts[1].isEmpty, parts[1].allSatisfy(\.isNumber) else { return nil } }
        return String(name)
    }

    /// An IPv4 dotted quad or an IPv6 address (what follows a `[` in a Host header).
    static func isIPLiteral(_ name: String) -> Bool {
        if name.contains(":") {
            return name.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } && name.filter { $0 == ":" }.count >= 2
        }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { $0.count <= 3 && !$0.isEmpty && $0.allSatisfy(\.isNumber) && Int($0)! <= 255 }
    }

    /// A page served by this very service (the dashboard) sends its own origin: `http://` + the Host it used.
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host else { return false }
        return origin.lowercased() == "http://" + host.lowercased()
    }
}
