public import HTTPTypes
import FoundationEssentials
import SockpitCore

/// An operation's direct route: the same handler method, called with the generated request type decoded by
/// the generated `Decodable` conformance, without the OpenAPI runtime's generic machinery in between.
///
/// Why: in a socket lifecycle (create, connect, send, receive, close) each request went through the runtime's
/// content-type and `Accept` parsing, URI decoding of the path parameter, the middleware chain and the
/// `HTTPRequest`/`HTTPBody` conversions in both directions. That generic work cost as much as the socket
/// operation itself. A direct route takes only the plain case: no query, the path id needing no decoding,
/// `application/json` in, JSON or anything out, authorized, a body that decodes. Anything else returns nil and
/// the generated server answers the same request, so validation problems, content negotiation and every
/// error about the request itself keep their single implementation there. Nothing is hand-parsed (STYLE rule
/// 1): the body goes through the generated type's `Decodable` conformance, after the same integer-literal check
/// the problem middleware makes. Errors thrown by the handler are turned into problems by the same function
/// the middleware uses.
public struct DirectRoute: Sendable {
    /// An answer: status, header fields (Content-Length is the transport's) and body.
    public typealias Answer = (status: Int, headers: [(String, String)], body: [UInt8])

    /// The operation's method.
    public let method: HTTPRequest.Method
    /// The OpenAPI path template of the operation.
    public let path: String
    /// The answer, or nil to let the generated handler answer. Returns nil only before the handler ran.
    public let answer: @Sendable (FastRoute.Request) async -> Answer?
}

extension APIHandler {
    /// The direct routes of this API: the socket operations of a lifecycle, on the hot path of every client.
    public func directRoutes(token: String?) -> [DirectRoute] {
        let token = token.map { Array($0.utf8) }
        let problems = ProblemMiddleware(logger: logger)
        let handler = self

        /// A route whose request has a JSON body of type `Body`.
        func route<Body: Decodable & Sendable>(
            _ method: HTTPRequest.Method, _ path: String, _ operationID: String, _ body: Body.Type,
            _ run: @escaping @Sendable (APIHandler, String, Body) async throws -> DirectRoute.Answer
        ) -> DirectRoute {
            let decoded = DecodedBodies<Body>()
            return DirectRoute(method: method, path: path) { request in
                guard let id = Self.plainID(request, path: path, token: token), Self.isJSON(request.contentType),
                      let body = decoded.body(request.body) else { return nil }
                return await Self.answer(problems, operationID, path: path, id: id) { try await run(handler, id, body) }
            }
        }

        return [
            route(.post, "/v1/sockets", "createSocket", Components.Schemas.CreateSocketRequest.self) { handler, _, body in
                switch try await handler.createSocket(.init(body: .json(body))) {
                case .created(let created):
                    guard case .json(let socket) = created.body else { throw DirectRouteError.unexpectedOutput }
                    return try Self.json(201, socket, location: created.headers.location)
                default: throw DirectRouteError.unexpectedOutput
                }
            },
            DirectRoute(method: .delete, path: "/v1/sockets/{id}") { request in
                guard let id = Self.plainID(request, path: "/v1/sockets/{id}", token: token), request.body.isEmpty else { return nil }
                return await Self.answer(problems, "closeSocket", path: "/v1/sockets/{id}", id: id) {
                    guard case .noContent = try await handler.closeSocket(.init(path: .init(id: id))) else {
                        throw DirectRouteError.unexpectedOutput
                    }
                    return (204, [], [])
                }
            },
            route(.post, "/v1/sockets/{id}/bind", "bindSocket", Components.Schemas.BindRequest.self) { handler, id, body in
                guard case .ok(let ok) = try await handler.bindSocket(.init(path: .init(id: id), body: .json(body))),
                      case .json(let value) = ok.body else { throw DirectRouteError.unexpectedOutput }
                return try Self.json(200, value)
            },
            route(.post, "/v1/sockets/{id}/listen", "listenSocket", Components.Schemas.ListenRequest.self) { handler, id, body in
                guard case .ok(let ok) = try await handler.listenSocket(.init(path: .init(id: id), body: .json(body))),
                      case .json(let value) = ok.body else { throw DirectRouteError.unexpectedOutput }
                return try Self.json(200, value)
            },
            route(.post, "/v1/sockets/{id}/accept", "acceptSocket", Components.Schemas.AcceptRequest.self) { handler, id, body in
                switch try await handler.acceptSocket(.init(path: .init(id: id), body: .json(body))) {
                case .ok(let ok):
                    guard case .json(let value) = ok.body else { throw DirectRouteError.unexpectedOutput }
                    return try Self.json(200, value)
                case .created(let created):
                    guard case .json(let socket) = created.body else { throw DirectRouteError.unexpectedOutput }
                    return try Self.json(201, socket, location: created.headers.location)
                default: throw DirectRouteError.unexpectedOutput
                }
            },
            route(.post, "/v1/sockets/{id}/connect", "connectSocket", Components.Schemas.ConnectRequest.self) { handler, id, body in
                guard case .ok(let ok) = try await handler.connectSocket(.init(path: .init(id: id), body: .json(body))),
                      case .json(let value) = ok.body else { throw DirectRouteError.unexpectedOutput }
                return try Self.json(200, value)
            },
            route(.post, "/v1/sockets/{id}/send", "sendSocket", Components.Schemas.SendRequest.self) { handler, id, body in
                guard case .ok(let ok) = try await handler.sendSocket(.init(path: .init(id: id), body: .json(body))),
                      case .json(let value) = ok.body else { throw DirectRouteError.unexpectedOutput }
                return try Self.json(200, value)
            },
            route(.post, "/v1/sockets/{id}/receive", "receiveSocket", Components.Schemas.ReceiveRequest.self) { handler, id, body in
                guard case .ok(let ok) = try await handler.receiveSocket(.init(path: .init(id: id), body: .json(body))),
                      case .json(let value) = ok.body else { throw DirectRouteError.unexpectedOutput }
                return try Self.json(200, value)
            },
            route(.post, "/v1/sockets/{id}/shutdown", "shutdownSocket", Components.Schemas.ShutdownRequest.self) { handler, id, body in
                guard case .ok(let ok) = try await handler.shutdownSocket(.init(path: .init(id: id), body: .json(body))),
                      case .json(let value) = ok.body else { throw DirectRouteError.unexpectedOutput }
                return try Self.json(200, value)
            },
        ]
    }

    /// The path's `id` (empty for a path without one) when the direct route may take the request: no query,
    /// authorized, an `Accept` that JSON satisfies, and an id that needs no percent-decoding.
    static func plainID(_ request: FastRoute.Request, path: String, token: [UInt8]?) -> String? {
        guard request.query?.isEmpty ?? true, authorized(request.authorization, token: token),
              request.accept.map({ $0 == "*/*" || $0 == "application/json" }) ?? true else { return nil }
        guard path.contains("{id}") else { return "" }
        guard let id = request.parameters["id"], !id.isEmpty, !id.utf8.contains(UInt8(ascii: "%")) else { return nil }
        return String(id)
    }

    /// True for the two spellings clients send: `application/json`, with or without `; charset=utf-8`.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let lowered = contentType.lowercased()
        return lowered == "application/json" || lowered == "application/json; charset=utf-8"
    }

    /// Runs the handler; an error it throws becomes the problem the middleware would answer with.
    static func answer(
        _ problems: ProblemMiddleware, _ operationID: String, path: String, id: String,
        _ run: () async throws -> DirectRoute.Answer
    ) async -> DirectRoute.Answer {
        do {
            return try await run()
        } catch {
            let instance = path.replacingOccurrences(of: "{id}", with: id)
            return problems.problem(forHandlerError: error, operationID: operationID).rendered(instance: instance)
        }
    }

    /// A JSON answer, encoded as the generated server encodes it.
    static func json(_ status: Int, _ value: some Encodable, location: String? = nil) throws -> DirectRoute.Answer {
        var headers = [("Content-Type", jsonContentType)]
        if let location { headers.append(("Location", location)) }
        return (status, headers, Array(try responseEncoder.encode(value)))
    }

}

/// The request bodies one direct route decoded lately, by their bytes.
///
/// Why: decoding a small request body with `JSONDecoder` through the generated `Decodable` conformance was the
/// largest item left in a socket lifecycle (~11 % of its CPU), and clients repeat the same bodies: a create
/// with the same family and type, a connect to the same peer, a receive or accept with the same limits, a
/// poll. Decoding is a pure function of the bytes, so an identical body reuses the value. Bounded: bodies of at
/// most 512 bytes, at most 256 of them per route (the table is emptied when full). A body that fails the
/// integer-literal check or decoding is not kept: it goes to the generated server every time.
final class DecodedBodies<Body: Decodable & Sendable>: Sendable {
    private let recent = RecentTable<[UInt8], Body>(limit: 256)

    /// The decoded body, or nil when it is not for the direct route.
    func body(_ bytes: [UInt8]) -> Body? {
        let keep = bytes.count <= 512
        if keep, let known = recent[bytes] { return known }
        guard IntegerLiterals.firstNonInteger(in: bytes) == nil,
              let body = try? APIHandler.decoder.decode(Body.self, from: Data(bytes)) else { return nil }
        if keep { recent.keep(body, for: bytes) }
        return body
    }

    /// How many bodies are kept now.
    var count: Int { recent.count }
}

/// A handler answered with an output its direct route does not render (none does today).
enum DirectRouteError: Error {
    case unexpectedOutput
}
