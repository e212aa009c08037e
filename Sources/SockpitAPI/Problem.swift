import FoundationEssentials
import HTTPTypes
import OpenAPIRuntime
import SockpitContract

/// An RFC 9457 problem the API answers with. Domain errors are translated into one of these
/// (`APIProblem.init(domain:)`), and so are the runtime's decoding and content-type errors.
struct APIProblem: Error, Sendable {
    /// The last path segment of the problem's `type` URI (`validation`, `not-found`, ...).
    var kind: String
    var status: HTTPResponse.Status
    var title: String
    var detail: String
    var field: String?
    var errno: String?
    var state: String?
    /// For a failure to record history: whether the operation happened all the same.
    var tookEffect: Bool?
    var headers: HTTPFields = [:]

    /// Base of every problem `type` URI; the suffix is stable per kind, documented in openapi.yaml.
    static let typeBase = "https://sockpit.dev/problems/"

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }()

    /// The response for this problem, about the request at `path`.
    func response(instance path: String) -> (HTTPResponse, HTTPBody?) {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return (HTTPResponse(status: status, headerFields: fields), HTTPBody(document(instance: path)))
    }

    /// The same response as status, header pairs and body bytes (for the answers given outside the runtime).
    func rendered(instance path: String) -> (status: Int, headers: [(String, String)], body: [UInt8]) {
        let fields = headers.map { ($0.name.rawName, $0.value) } + [("Content-Type", "application/problem+json")]
        return (status.code, fields, Array(document(instance: path)))
    }

    private func document(instance path: String) -> Data {
        let document = Components.Schemas.Problem(
            _type: Self.typeBase + kind, title: title, status: status.code, detail: detail,
            instance: path, field: field, errno: errno, state: state.flatMap(Components.Schemas.SocketState.init(rawValue:)), tookEffect: tookEffect)
        return (try? Self.encoder.encode(document)) ?? Data()
    }

    static func badRequest(_ detail: String, field: String? = nil) -> Self {
        Self(kind: "bad-request", status: .badRequest, title: "Bad Request", detail: detail, field: field)
    }

    static func validation(_ detail: String, field: String?) -> Self {
        Self(kind: "validation", status: .badRequest, title: "Invalid Field", detail: detail, field: field)
    }

    static func malformedJSON(_ detail: String) -> Self {
        Self(kind: "malformed-json", status: .badRequest, title: "Malformed JSON", detail: detail)
    }

    static func unsupportedMediaType(_ detail: String) -> Self {
        Self(kind: "unsupported-media-type", status: .unsupportedMediaType, title: "Unsupported Media Type", detail: detail)
    }

    static func unauthorized(_ detail: String) -> Self {
        var fields = HTTPFields()
        fields[.wwwAuthenticate] = "Bearer realm=\"sockpit\""
        return Self(kind: "unauthorized", status: .unauthorized, title: "Unauthorized", detail: detail, headers: fields)
    }

    static let internalError = Self(
        kind: "internal", status: .internalServerError, title: "Internal Server Error",
        detail: "the request could not be completed; the server log has the details")
}

extension HTTPRequest {
    /// The request's path without its query string: a problem's `instance`.
    var problemInstance: String { path.map { String($0.prefix { $0 != "?" }) } ?? "" }
}
