import FoundationEssentials
public import HTTPTypes
public import OpenAPIRuntime

/// Content negotiation happens only where an operation offers a choice (the event list: JSON or ndjson; the
/// export: ndjson or text); everywhere else `Accept` is disregarded, as RFC 9110 §12.5.1 allows. The generated
/// server checks `Accept` only when it writes the answer, after the operation acted: a socket created, a probe
/// run or bytes received would end in a 406 the client cannot act on, and the bytes would be lost. So the header
/// never reaches it; the two handlers that choose read it here (`ClientAccept`).
public struct AcceptMiddleware: ServerMiddleware {
    /// Creates the middleware.
    public init() {}

    /// Runs the operation without the `Accept` header, which `ClientAccept.header` holds meanwhile.
    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let accept = request.headerFields[.accept] else { return try await next(request, body, metadata) }
        var request = request
        request.headerFields[.accept] = nil
        return try await ClientAccept.$header.withValue(accept) { try await next(request, body, metadata) }
    }
}

/// The request's `Accept` header, for the handlers that choose between representations.
enum ClientAccept {
    @TaskLocal static var header: String?

    /// The media types the header names, most wanted first, as `T` reads them; unparseable ones and those with
    /// `q=0` left out.
    static func ranked<T: AcceptableProtocol>(_: T.Type) -> [T] {
        guard let header else { return [] }
        return header.split(separator: ",").compactMap { value -> AcceptHeaderContentType<T>? in
            guard let parsed = AcceptHeaderContentType<T>(rawValue: value.trimmingCharacters(in: .whitespaces)),
                  parsed.quality.doubleValue > 0 else { return nil }
            return parsed
        }.sortedByQuality().map(\.contentType)
    }
}
