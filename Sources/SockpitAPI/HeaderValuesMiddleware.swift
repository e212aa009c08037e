import FoundationEssentials
import HTTPTypes
import OpenAPIRuntime

/// Undoes the percent-encoding the generated server applies to response header values (OpenAPI 3.0.3's reading of
/// headers; apple/swift-openapi-generator#857, whose maintainers point to a middleware): `ETag: "abc"` would go out
/// as `%22abc%22` and a Content-Security-Policy as `default-src%20%27self%27`, which browsers ignore. Only the
/// fields named here are touched, each a header whose value HTTP defines as is.
struct HeaderValuesMiddleware: ServerMiddleware {
    static let fields: [HTTPField.Name] = [.eTag, .cacheControl, .contentSecurityPolicy]

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var (response, responseBody) = try await next(request, body, metadata)
        for name in Self.fields {
            if let value = response.headerFields[name], let plain = value.removingPercentEncoding { response.headerFields[name] = plain }
        }
        return (response, responseBody)
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
}
