import FoundationEssentials
public import HTTPTypes
public import OpenAPIRuntime

/// State-changing requests must declare `Content-Type: application/json` (415 otherwise), whether or not they
/// carry a body. A browser sends a cross-origin request without asking first (no preflight) only when its body
/// is a form or `text/plain`; refusing every other type keeps a web page from driving the API through the
/// browser of someone who can reach it. The generated server alone would read an undeclared body as JSON.
///
/// Every number in a body is an integer field here; JSON's decoder would read `1.5` or `1e3` into one silently
/// (truncated), so a body with another number is 400 naming the field. Runs after authentication: a caller
/// without the token learns nothing about a body and costs no scan of it.
public struct JSONBodyMiddleware: ServerMiddleware {
    /// Creates the middleware.
    public init() {}

    /// Answers 415 for a POST, PUT or PATCH whose media type is not `application/json`, and 400 for a body with a
    /// number that is not an integer.
    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard [.post, .put, .patch].contains(request.method) else { return try await next(request, body, metadata) }
        let declared = request.headerFields[.contentType]
        let mediaType = declared?.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            let path = request.problemInstance
            let detail = declared.map { "Content-Type '\($0)' is not accepted: send application/json" }
                ?? "a \(request.method.rawValue) request needs 'Content-Type: application/json'"
            return APIProblem.unsupportedMediaType(detail).response(instance: path)
        }
        if let body, case .known(let length) = body.length, length > 0, length <= 1 << 20,
           let (key, literal) = IntegerLiterals.firstNonInteger(in: try await [UInt8](collecting: body, upTo: Int(length))) {
            return APIProblem.validation("field '\(key)' must be an integer from -2^63 to 2^63-1, got \(literal)", field: key)
                .response(instance: request.problemInstance)
        }
        return try await next(request, body, metadata)
    }
}
