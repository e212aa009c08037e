import Foundation
import Testing

/// One HTTP response as the test client received it.
struct Response: Sendable {
    /// The HTTP status code.
    let status: Int
    /// Header values by lowercased name.
    let headers: [String: String]
    /// The raw body.
    let body: Data

    /// The value of the header `name`, matched case-insensitively.
    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The body parsed as a JSON object, or nil when it is empty or not an object.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    /// The body as UTF-8 text, for failure messages.
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// The base of every problem `type` URI (openapi.yaml, `Problem`).
let problemTypeBase = "https://sockpit.dev/problems/"

/// Checks that `response` is an RFC 9457 problem with `status`, and — when given — the problem kind (the
/// last segment of `type`), `field`, `errno` and `state`. Returns the document for further checks.
@discardableResult
func expectProblem(
    _ response: Response, status: Int, kind: String? = nil, field: String? = nil, errno: String? = nil,
    state: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
) throws -> [String: Any] {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(response.header("Content-Type")?.hasPrefix("application/problem+json") == true,
            "content type: \(response.header("Content-Type") ?? "none")", sourceLocation: sourceLocation)
    let problem = try #require(response.json, "not a JSON object: \(response.text)", sourceLocation: sourceLocation)
    #expect(problem["status"] as? Int == status, sourceLocation: sourceLocation)
    #expect((problem["detail"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
    if let kind {
        #expect(problem["type"] as? String == problemTypeBase + kind, "body: \(response.text)", sourceLocation: sourceLocation)
    }
    if let field {
        #expect(problem["field"] as? String == field, "body: \(response.text)", sourceLocation: sourceLocation)
    }
    if let errno {
        #expect(problem["errno"] as? String == errno, "body: \(response.text)", sourceLocation: sourceLocation)
    }
    if let state {
        #expect(problem["state"] as? String == state, "body: \(response.text)", sourceLocation: sourceLocation)
    }
    return problem
}

/// An address object as the API writes it (`{"host": ..., "port": ...}`, `{"path": ...}`, `{"abstract": ...}`),
/// reduced to comparable strings.
struct Address: Equatable, CustomStringConvertible, Sendable {
    /// IP address or host name.
    var host: String?
    /// IP port.
    var port: Int?
    /// Unix name, relative to the sockets directory.
    var path: String?
    /// Linux abstract name.
    var abstract: String?

    /// Reads an address object; nil when `value` is not one.
    init?(_ value: Any?) {
        guard let object = value as? [String: Any] else { return nil }
        host = object["host"] as? String
        port = object["port"] as? Int
        path = object["path"] as? String
        abstract = object["abstract"] as? String
    }

    /// An IP address and port.
    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// The JSON object the API takes.
    var json: [String: Any] {
        var object: [String: Any] = [:]
        if let host { object["host"] = host }
        if let port { object["port"] = port }
        if let path { object["path"] = path }
        if let abstract { object["abstract"] = abstract }
        return object
    }

    /// `host:port`, `path:NAME` or `abstract:NAME`.
    var description: String {
        if let path { return "path:\(path)" }
        if let abstract { return "abstract:\(abstract)" }
        return "\(host ?? "?"):\(port.map(String.init) ?? "?")"
    }
}
