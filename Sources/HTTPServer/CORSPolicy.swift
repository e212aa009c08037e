/// Which browser origins may call the API cross-origin, and the CORS headers that follow from it (Fetch
/// standard, "CORS protocol"). Built once when the transport starts; read on the daemon's threads.
///
/// Applied by the transport to every response it queues (handlers, problems, 404/405, streams), so no route
/// can forget it. Requests carry bearer tokens explicitly and no cookies: `Access-Control-Allow-Credentials`
/// is never sent, and the origin is echoed rather than `*` so the same answer works whatever the client's
/// credentials mode.
struct CORSPolicy: Sendable {
    /// Request headers a preflight approves (lowercase): the ones the API's browser clients send.
    static let approvableRequestHeaders: Set<String> = [
        "authorization", "content-type", "accept", "last-event-id", "cache-control", "x-requested-with",
    ]
    /// Response headers scripts may read beyond the CORS-safelisted ones (`Location` of a 201/202 above all).
    static let exposedHeaders = "Location, Retry-After, Allow, Content-Type"
    /// How long a browser may cache a preflight answer, in seconds.
    static let preflightMaxAge = "600"

    /// CORS off: no origin is allowed and no header is added.
    static let disabled = CORSPolicy(allowsAnyOrigin: false, origins: [])

    private let allowsAnyOrigin: Bool
    /// Allowed origins in canonical form (see `canonical(_:)`).
    private let origins: Set<String>

    private init(allowsAnyOrigin: Bool, origins: Set<String>) {
        self.allowsAnyOrigin = allowsAnyOrigin
        self.origins = origins
    }

    /// Parses the configured entries: serialized origins (a trailing `/` is tolerated) or `*`.
    init(allowedOrigins: [String]) throws(HTTPServerError) {
        var any = false
        var origins: Set<String> = []
        for entry in allowedOrigins {
            if entry == "*" {
                any = true
                continue
            }
            let trimmed = entry.hasSuffix("/") ? entry.dropLast() : Substring(entry)
            guard let origin = Self.canonical(trimmed) else { throw .invalidCORSOrigin(entry) }
            origins.insert(origin)
        }
        self.init(allowsAnyOrigin: any, origins: origins)
    }

    /// Whether any origin is allowed; when not, the transport adds nothing and skips every check.
    var isEnabled: Bool { allowsAnyOrigin || !origins.isEmpty }

    /// `origin` (a request's `Origin` header) if it is allowed, else nil.
    func allowed(_ origin: String?) -> String? {
        guard let origin, isEnabled else { return nil }
        // Browsers send origins already canonical, so the exact lookup is the usual hit.
        if origins.contains(origin) { return origin }
        let canonical = Self.canonical(Substring(origin))
        if allowsAnyOrigin { return canonical != nil || origin == "null" ? origin : nil }
        return canonical.map(origins.contains) == true ? origin : nil
    }

    /// Headers for an ordinary (non-preflight) response: the CORS ones for an allowed origin, otherwise only
    /// `Vary: Origin` because the answer still depends on the Origin header (a cache must not hand the
    /// header-less one to an allowed origin).
    func responseHeaders(allowedOrigin origin: String?) -> [(String, String)] {
        guard let origin else { return [("Vary", "Origin")] }
        return [
            ("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
            ("Access-Control-Expose-Headers", Self.exposedHeaders),
        ]
    }

    /// The 204 answer to a preflight from an allowed origin for a known path. It lists the path's real
    /// methods even when the requested one is not among them (the browser then refuses), and approves only
    /// the requested headers that clients legitimately send.
    func preflightResponse(origin: String, allowedMethods: [String], requestedHeaders: String?) -> PreparedResponse {
        var headers = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", allowedMethods.joined(separator: ", ")),
        ]
        if let requestedHeaders {
            var approved: [String] = []
            for piece in requestedHeaders.split(separator: ",") {
                let name = Self.trimmed(piece).lowercased()
                if Self.approvableRequestHeaders.contains(name), !approved.contains(name) { approved.append(name) }
            }
            if !approved.isEmpty { headers.append(("Access-Control-Allow-Headers", approved.joined(separator: ", "))) }
        }
        headers.append(("Access-Control-Max-Age", Self.preflightMaxAge))
        headers.append(("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"))
        return PreparedResponse(status: 204, headers: headers, body: .bytes([]))
    }

    /// `scheme://host[:port]` with scheme and host lowercased and a default port (80 for http, 443 for
    /// https) dropped, as browsers serialize origins; nil if `text` is not a serialized origin.
    static func canonical(_ text: Substring) -> String? {
        let lowered = text.lowercased()[...]
        guard let colon = lowered.firstIndex(of: ":"), lowered[colon...].hasPrefix("://") else { return nil }
        let scheme = lowered[..<colon]
        guard let first = scheme.first, first.isLetter,
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") })
        else { return nil }
        let authority = lowered[lowered.index(colon, offsetBy: 3)...]
        var host = authority
        var port: Substring = ""
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { return nil }
                port = after.dropFirst()
                guard !port.isEmpty else { return nil }
            }
        } else if let portColon = authority.lastIndex(of: ":") {
            host = authority[..<portColon]
            port = authority[authority.index(after: portColon)...]
            guard !port.isEmpty else { return nil }
        }
        guard !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" || $0 == "@" || $0.isWhitespace }),
              port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") { port = "" }
        return port.isEmpty ? "\(scheme)://\(host)" : "\(scheme)://\(host):\(port)"
    }

    /// `text` without surrounding spaces and tabs (HTTP's optional whitespace).
    private static func trimmed(_ text: Substring) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = text.firstIndex(where: { !isSpace($0) }), let end = text.lastIndex(where: { !isSpace($0) }) else { return "" }
        return text[start...end]
    }
}
