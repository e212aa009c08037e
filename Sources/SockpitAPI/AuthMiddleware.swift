import FoundationEssentials
public import HTTPTypes
public import OpenAPIRuntime
import SockpitContract

/// Bearer-token authentication: with a token configured, every operation except those listed as public
/// needs `Authorization: Bearer <token>`; otherwise 401 problem. Runs before the request is decoded.
public struct AuthMiddleware: ServerMiddleware {
    private let token: [UInt8]?
    private let publicOperations: Set<String>

    /// Operations that also accept `?access_token=<token>` (for clients that cannot send headers).
    private let queryTokenOperations: Set<String>

    /// `token == nil` disables authentication.
    public init(token: String?, publicOperations: Set<String> = ["getHealth", "getDashboard", "getDashboardAsset"], queryTokenOperations: Set<String> = ["streamEvents"]) {
        self.token = token.map { Array($0.utf8) }
        self.publicOperations = publicOperations
        self.queryTokenOperations = queryTokenOperations
    }

    /// The percent-decoded value of a query parameter in a request target, if present.
    static func queryValue(_ name: String, in target: String?) -> String? {
        guard let target, let mark = target.firstIndex(of: "?") else { return nil }
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == name else { continue }
            return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }

    /// Rejects the request with 401 unless it is public or carries the token.
    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let token, !publicOperations.contains(operationID) else { return try await next(request, body, metadata) }
        let path = request.problemInstance
        guard let header = request.headerFields[.authorization] else {
            // A browser's EventSource cannot send headers: the event stream also takes the token as a query
            // parameter (the access log records paths without their query, so it is not written down).
            if queryTokenOperations.contains(operationID), let given = Self.queryValue("access_token", in: request.path) {
                guard Self.constantTimeEqual(Array(given.utf8), token) else {
                    return APIProblem.unauthorized("the access_token is wrong").response(instance: path)
                }
                return try await next(request, body, metadata)
            }
            return APIProblem.unauthorized("this server requires 'Authorization: Bearer <token>'").response(instance: path)
        }
        guard Self.bearerMatches(header, token: token) else {
            return APIProblem.unauthorized("the bearer token is wrong").response(instance: path)
        }
        return try await next(request, body, metadata)
    }

    /// Whether an `Authorization` value is `Bearer <token>` (scheme case-insensitive, token compared in constant time).
    static func bearerMatches(_ header: String, token: [UInt8]) -> Bool {
        let prefix = "bearer "
        return header.count > prefix.count && header.prefix(prefix.count).lowercased() == prefix
            && constantTimeEqual(Array(header.utf8.dropFirst(prefix.count)), token)
    }

    /// Compares without an early exit, so timing does not reveal how much of a guess was right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
