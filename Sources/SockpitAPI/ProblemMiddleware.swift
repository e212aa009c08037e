import Foundation
public import HTTPTypes
public import Logging
public import OpenAPIRuntime

/// Turns every error escaping an operation into an RFC 9457 problem response: request decoding errors
/// become 400 naming the field, content-type mismatches 415, domain errors their own status, and anything
/// unknown a 500 that leaks no internals (the details go to the log).
public struct ProblemMiddleware: ServerMiddleware {
    let logger: Logger

    /// Creates the middleware; unexpected errors are logged to `logger`.
    public init(logger: Logger) { self.logger = logger }

    /// Runs the operation and converts its failure.
    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            var (response, responseBody) = try await next(Self.bareNamesGivenValues(request), body, metadata)
            // The generated code percent-encodes header values; a Location must stay a plain path.
            if let location = response.headerFields[.location], let decoded = location.removingPercentEncoding {
                response.headerFields[.location] = decoded
            }
            return (response, responseBody)
        } catch {
            var problem = problem(for: error, operationID: operationID)
            if let serverError = error as? ServerError, let decoding = serverError.underlyingError as? DecodingError,
               body == nil, let parameter = Self.parameterProblem(decoding, request: request) {
                problem = parameter
            }
            if problem.kind == "malformed-json", let body, let reason = await Self.syntaxError(in: body) {
                problem.detail = "request body is not valid JSON: \(reason)"
            }
            let path = request.problemInstance
            return problem.response(instance: path)
        }
    }

    /// `request` with `=` after each query parameter that has none (`?verbose&limit=5` → `?verbose=&limit=5`):
    /// the OpenAPI runtime cannot split a bare name and throws an error it reports as a 500 (found by
    /// Tests/e2e/fuzz.sh). With an empty value an unknown parameter is ignored, a known one refused by name.
    /// A '#' ends the query there, as the runtime reads it (a client sends no fragment; the rest is dropped).
    static func bareNamesGivenValues(_ request: HTTPRequest) -> HTTPRequest {
        guard let whole = request.path, let question = whole.firstIndex(of: "?") else { return request }
        let path = whole.firstIndex(of: "#").map { whole[..<$0] } ?? whole[...]
        let items = path[path.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false)
        guard items.contains(where: { !$0.contains("=") }) else { return request }
        var request = request
        request.path = path[...question] + items.map { $0.contains("=") ? $0 : $0 + "=" }.joined(separator: "&")
        return request
    }

    private func problem(for error: any Error, operationID: String) -> APIProblem {
        guard let serverError = error as? ServerError else {
            logger.error("operation failed", metadata: ["api.operation": "\(operationID)", "error": "\(error)"])
            return .internalError
        }
        if let problem = Self.known(serverError.underlyingError) { return problem }
        if let decoding = serverError.underlyingError as? DecodingError { return Self.problem(for: decoding) }
        switch serverError.httpStatus.code {
        case 415:
            return .unsupportedMediaType(
                "\(serverError.causeDescription); send the body as application/json")
        case 400..<500:
            return APIProblem(
                kind: "bad-request", status: serverError.httpStatus, title: serverError.httpStatus.reasonPhrase,
                detail: serverError.causeDescription)
        default:
            logger.error("operation failed", metadata: [
                "api.operation": "\(operationID)", "error": "\(serverError.underlyingError)",
                "cause": "\(serverError.causeDescription)",
            ])
            return .internalError
        }
    }

    /// The problem for an error an operation's handler threw itself (a direct route calls the handler with no
    /// runtime in between, so its errors come unwrapped): domain errors their own, anything else a logged 500.
    func problem(forHandlerError error: any Error, operationID: String) -> APIProblem {
        if let problem = Self.known(error) { return problem }
        logger.error("operation failed", metadata: ["api.operation": "\(operationID)", "error": "\(error)"])
        return .internalError
    }

    /// The problem an API or domain error stands for, nil for any other error.
    private static func known(_ error: any Error) -> APIProblem? {
        if let problem = error as? APIProblem { return problem }
        if let convertible = error as? any APIProblemConvertible { return convertible.apiProblem }
        return nil
    }

    /// Names the failing field (as a JSON path) and the reason.
    static func problem(for error: DecodingError) -> APIProblem {
        func path(_ codingPath: [any CodingKey]) -> String? {
            guard !codingPath.isEmpty else { return nil }
            return codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }
                .joined().trimmingPrefix(".").description
        }
        switch error {
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let reason = context.underlyingError.map { "\($0)" } ?? context.debugDescription
                return .malformedJSON("request body is not valid JSON: \(Self.clean(reason))".trimmingCharacters(in: .init(charactersIn: ": ")))
            }
            let field = path(context.codingPath)
            return .validation("field '\(field ?? "")' is invalid: \(Self.clean(context.debugDescription))", field: field)
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return .validation("field '\(field ?? key.stringValue)' is required", field: field)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return .validation("field '\(field ?? "(body)")' has the wrong type: expected \(Self.jsonType(type))", field: field)
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return .validation("field '\(field ?? "(body)")' must not be null: expected \(Self.jsonType(type))", field: field)
        @unknown default:
            return .badRequest("the request body could not be decoded")
        }
    }

    /// A decoding failure without a request body is about a query parameter; the runtime decodes each at
    /// the root, so its name is found by the value it could not take.
    static func parameterProblem(_ error: DecodingError, request: HTTPRequest) -> APIProblem? {
        guard let target = request.path, let question = target.firstIndex(of: "?") else { return nil }
        let message: String = switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            context.debugDescription
        case .keyNotFound(let key, _): key.stringValue
        @unknown default: ""
        }
        let items = target[target.index(after: question)...].split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            return (name, value)
        }
        // The value named in the message, else the only parameter whose value is not a whole number when the
        // runtime failed a number conversion, else the only parameter there is.
        let nonNumeric = items.filter { Int($0.1) == nil }
        let culprit = items.first { !$0.1.isEmpty && message.contains($0.1) }
            ?? (message.contains("convert") && nonNumeric.count == 1 ? nonNumeric.first : nil)
            ?? (items.count == 1 ? items.first : nil)
        guard let (name, value) = culprit else {
            let names = items.map(\.0).joined(separator: ", ")
            return .validation("one of the query parameters (\(names)) has an invalid value: \(message)", field: nil)
        }
        return .validation("query parameter '\(name)' has an invalid value '\(value)'; see openapi.yaml for what it accepts", field: name)
    }

    /// Where the JSON syntax breaks, in the parser's words ("Unexpected end of file", "Invalid value around
    /// character 1"): the decoder only says that it is invalid.
    static func syntaxError(in body: HTTPBody) async -> String? {
        guard body.iterationBehavior == .multiple, let bytes = try? await [UInt8](collecting: body, upTo: 1 << 30) else { return nil }
        do {
            _ = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            return nil
        } catch {
            let reason = (error as NSError).userInfo["NSDebugDescription"] as? String
            return reason.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }
        }
    }

    private static func jsonType(_ type: Any.Type) -> String {
        let name = "\(type)"
        if name.contains("Int") { return "an integer" }
        if name.contains("Double") || name.contains("Float") { return "a number" }
        if name.contains("Bool") { return "a boolean" }
        if name.contains("String") { return "a string" }
        if name.contains("Array") { return "an array" }
        return "an object"
    }

    /// Foundation's messages mention Swift types and byte offsets in parentheses; keep them short.
    private static func clean(_ text: String) -> String {
        text.replacingOccurrences(of: "The given data was not valid JSON.", with: "").trimmingCharacters(in: .whitespaces)
    }
}

/// A domain error that knows which problem it is (STYLE.md rule 14).
protocol APIProblemConvertible: Error {
    var apiProblem: APIProblem { get }
}
