/// RFC 9457 problem documents produced by the transport itself (unknown path, wrong method, body too large,
/// shutting down), before any generated handler runs.
///
/// Handlers produce their own problems through the API layer; these are the few the transport must answer
/// on its own. Encoded by hand because the set is tiny and fixed, and the transport has no JSON model types.
struct TransportProblem: Sendable {
    let status: Int
    let type: String
    let title: String
    let detail: String
    var extraHeaders: [(String, String)] = []

    /// The problem+json body, with keys in a stable order.
    var body: [UInt8] {
        let json = "{\"detail\":\(Self.quote(detail)),\"status\":\(status),\"title\":\(Self.quote(title)),\"type\":\(Self.quote(type))}"
        return Array(json.utf8)
    }

    /// The full response (status, content type, extra headers, body).
    var response: PreparedResponse {
        PreparedResponse(
            status: status,
            headers: [("Content-Type", "application/problem+json")] + extraHeaders,
            body: .bytes(body)
        )
    }

    static func notFound(path: String) -> Self {
        Self(status: 404, type: "https://sockpit.dev/problems/not-found", title: "Not Found",
             detail: "no resource at path '\(path)'; see openapi.yaml for the API's paths")
    }

    static func methodNotAllowed(method: String, template: String, allowed: [String]) -> Self {
        let allow = allowed.joined(separator: ", ")
        return Self(status: 405, type: "https://sockpit.dev/problems/method-not-allowed", title: "Method Not Allowed",
                    detail: "method \(method) is not allowed on \(template); allowed: \(allow)",
                    extraHeaders: [("Allow", allow)])
    }

    static func payloadTooLarge(limit: Int) -> Self {
        Self(status: 413, type: "https://sockpit.dev/problems/payload-too-large", title: "Content Too Large",
             detail: "request body exceeds the limit of \(limit) bytes")
    }

    static let shuttingDown = Self(
        status: 503, type: "https://sockpit.dev/problems/shutting-down", title: "Service Unavailable",
        detail: "the server is shutting down", extraHeaders: [("Retry-After", "1")])

    static let handlerFailed = Self(
        status: 500, type: "https://sockpit.dev/problems/internal", title: "Internal Server Error",
        detail: "the request could not be completed; the server log has the details")

    /// JSON string literal for `text`, escaping what RFC 8259 requires.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
