public import HTTPTypes
import FoundationEssentials
import SockpitCore

/// An operation's synchronous fast path, for the transport to try on its own thread before the generated
/// handler: it answers reads it can serve from memory, and returns nil (the handler then answers) for anything
/// else — validation, authentication failures and history reads keep their single implementation.
public struct FastRoute: Sendable {
    /// What the fast path sees of a request.
    public struct Request: Sendable {
        /// Path parameters, still percent-encoded.
        public var parameters: [String: Substring]
        /// The query string, if any.
        public var query: String?
        /// The `Authorization` header, if any.
        public var authorization: String?
        /// The `Content-Type` header, if any.
        public var contentType: String?
        /// The `Accept` header, if any.
        public var accept: String?
        /// The request body (direct routes).
        public var body: [UInt8]

        /// Creates a request view.
        public init(
            parameters: [String: Substring], query: String?, authorization: String?, contentType: String? = nil,
            accept: String? = nil, body: [UInt8] = []
        ) {
            self.parameters = parameters
            self.query = query
            self.authorization = authorization
            self.contentType = contentType
            self.accept = accept
            self.body = body
        }

        /// A request view reading the headers the routes look at through `header` (by lowercase name), so that
        /// every transport wiring builds it the same way.
        public init(parameters: [String: Substring], query: String?, body: [UInt8] = [], header: (String) -> String?) {
            self.init(parameters: parameters, query: query, authorization: header("authorization"),
                      contentType: header("content-type"), accept: header("accept"), body: body)
        }
    }

    /// An answer: status, content type and body.
    public typealias Answer = (status: Int, contentType: String, body: [UInt8])

    /// The operation's method.
    public let method: HTTPRequest.Method
    /// The OpenAPI path template of the operation.
    public let path: String
    /// The answer, or nil to let the generated handler answer.
    public let answer: @Sendable (Request) -> Answer?
}

extension APIHandler {
    /// The fast paths of this API: `GET /v1/sockets/{id}` of an open socket, from the registry's memory, with
    /// the rendering memoized per socket state (the async bridge and the encoding were most of that read's cost).
    public func fastRoutes(token: String?) -> [FastRoute] {
        let token = token.map { Array($0.utf8) }
        let runtime = runtime
        return [
            FastRoute(method: .get, path: "/v1/sockets/{id}") { request in
                guard request.query?.isEmpty ?? true, let id = request.parameters["id"], !id.utf8.contains(UInt8(ascii: "%")),
                      Self.authorized(request.authorization, token: token) else { return nil }
                let body = runtime.sockets.openRepresentation(id: String(id)) { record in
                    Array(try Self.responseEncoder.encode(Self.socket(record)))
                }
                return body.map { (200, Self.jsonContentType, $0) }
            },
        ]
    }

    /// The operations whose handlers may start on the HTTP daemon thread (`MicroHTTPDTransport.runInline`): one
    /// socket's operation each, small bounded work (a syscall or two, one history append), and a wait when
    /// there is one suspends. Lists, history pages, exports, probes and metrics are not here: their work grows
    /// with their answer and would hold up the thread's other connections. Nor is `GET /v1/sockets/{id}`: an
    /// open socket is answered by its fast route already, and a closed one is a SQLite read, which on the daemon
    /// threads made them queue on the database lock instead of reading requests (measured: 13,000 req/s inline
    /// against 20,000 on the task pool).
    public static let inlineOperations: [(method: HTTPRequest.Method, path: String)] = [
        (.post, "/v1/sockets"), (.delete, "/v1/sockets/{id}"),
        (.post, "/v1/sockets/{id}/bind"), (.post, "/v1/sockets/{id}/listen"), (.post, "/v1/sockets/{id}/accept"),
        (.post, "/v1/sockets/{id}/connect"), (.post, "/v1/sockets/{id}/send"), (.post, "/v1/sockets/{id}/receive"),
        (.post, "/v1/sockets/{id}/shutdown"), (.get, "/v1/sockets/{id}/options"), (.patch, "/v1/sockets/{id}/options"),
        (.post, "/v1/socketpairs"),
    ]

    /// True when no token is configured or `header` carries it (the same rule as `AuthMiddleware`).
    static func authorized(_ header: String?, token: [UInt8]?) -> Bool {
        guard let token else { return true }
        guard let header else { return false }
        return AuthMiddleware.bearerMatches(header, token: token)
    }
}
