import FoundationEssentials
public import HTTPTypes
public import OpenAPIRuntime

/// State-changing requests must declare `Content-Type: application/json` (415 otherwise), whether or not they
/// carry a body. A browser sends a cross-origin request without asking first (no preflight) only when its body
/// is a form or `text/plain`; refusing every other type keeps a web page from driving the API through the
/// browser of someone who can reach it. The generated server alone would read an undeclared body as JSON.
public struct JSONBodyMiddleware: ServerMiddleware {
    /// Creates the middleware.
    public init() {}

    /// Answers 415 for a POST, PUT or PATCH whose media type is not `application/json`.
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
        return try await next(request, body, metadata)
    }
}
