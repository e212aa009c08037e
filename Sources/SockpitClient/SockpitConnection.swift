public import Foundation
public import HTTPTypes
public import OpenAPIRuntime
public import SockpitContract

/// A problem document a server answered (RFC 9457), thrown by every client call that did not succeed.
public struct ServerProblem: Error, Sendable, CustomStringConvertible {
    public var problem: Components.Schemas.Problem

    /// The last path segment of `type`: `unauthorized`, `validation`, `invalid-state`, ...
    public var kind: String { problem._type.split(separator: "/").last.map(String.init) ?? problem._type }

    /// `Not Found (404 not-found): no socket with id 'x'`.
    public var description: String { "\(problem.title) (\(problem.status) \(kind)): \(problem.detail)" }
}

/// The client of a Sockpit server: the generated `Client` on `StreamingTransport`, with the bearer token and a
/// middleware that turns any error answer into a thrown `ServerProblem` — so callers read only successes.
public enum SockpitConnection {
    public static func client(server: URL, token: String?, timeout: Duration = .seconds(60)) -> Client {
        Client(
            serverURL: server,
            configuration: Configuration(dateTranscoder: .iso8601WithFractionalSeconds),
            transport: StreamingTransport(timeout: timeout),
            middlewares: [ProblemThrowing(token: token)])
    }
}

/// Adds `Authorization` and throws the problem an error answer carries.
struct ProblemThrowing: ClientMiddleware {
    let token: String?

    func intercept(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        if let token { request.headerFields[.authorization] = "Bearer \(token)" }
        let (response, responseBody) = try await next(request, body, baseURL)
        guard response.status.code >= 400 else { return (response, responseBody) }
        var bytes = Data()
        if let responseBody { bytes = try await Data(collecting: responseBody, upTo: 1 << 20) }
        if let problem = try? JSONDecoder().decode(Components.Schemas.Problem.self, from: bytes) {
            throw ServerProblem(problem: problem)
        }
        let text = String(decoding: bytes.prefix(512), as: UTF8.self)
        throw ServerProblem(problem: .init(
            _type: "about:blank", title: response.status.reasonPhrase, status: response.status.code,
            detail: text.isEmpty ? "the server answered \(response.status.code) with no problem document" : text))
    }
}
