public import HTTPTypes
public import OpenAPIRuntime

/// The signature of a handler registered through `ServerTransport`.
public typealias RouteHandler = @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (
    HTTPResponse, HTTPBody?
)

/// Matches request paths against OpenAPI path templates such as `/v1/sockets/{id}/connect`.
///
/// Templates are split into literal and parameter segments once, at registration; matching walks the
/// segments without allocating for literal comparisons.
struct Router: Sendable {
    /// One piece of a path template.
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    /// A registered operation.
    struct Route: Sendable {
        let method: HTTPRequest.Method
        let template: String
        let segments: [Segment]
        let handler: RouteHandler
        /// Answers on the daemon thread when it can (returns nil to let `handler` answer).
        var fastPath: FastPathHandler?
        /// Tried first in the handler's task (returns nil to let `handler` answer).
        var directPath: DirectPathHandler?
        /// The handler starts on the daemon thread (`HandlerExecutor`): for bounded work that rarely waits.
        var runsInline = false
    }

    /// The outcome of matching a method and path.
    enum Match {
        case found(Route, parameters: [String: Substring])
        case methodNotAllowed(allowed: [String], template: String)
        case notFound
    }

    private(set) var routes: [Route] = []
    /// Literal paths answered synchronously on the daemon thread, by path then method.
    private(set) var immediate: [String: [String: ImmediateHandler]] = [:]

    /// Adds a synchronous route for a literal path (no parameters).
    mutating func addImmediate(method: HTTPRequest.Method, path: String, handler: @escaping ImmediateHandler) throws {
        guard !path.contains("{") else { throw HTTPServerError.invalidListenAddress("immediate routes take literal paths: \(path)") }
        if immediate[path]?[method.rawValue] != nil { throw HTTPServerError.duplicateRoute(method: method.rawValue, path: path) }
        immediate[path, default: [:]][method.rawValue] = handler
    }

    /// Gives an already registered route a synchronous fast path.
    mutating func addFastPath(method: HTTPRequest.Method, template: String, handler: @escaping FastPathHandler) throws {
        let index = try registered(method: method, template: template)
        guard routes[index].fastPath == nil else { throw HTTPServerError.duplicateRoute(method: method.rawValue, path: template) }
        routes[index].fastPath = handler
    }

    /// Gives an already registered route a direct path, tried in its task before the handler.
    mutating func addDirectPath(method: HTTPRequest.Method, template: String, handler: @escaping DirectPathHandler) throws {
        let index = try registered(method: method, template: template)
        guard routes[index].directPath == nil else { throw HTTPServerError.duplicateRoute(method: method.rawValue, path: template) }
        routes[index].directPath = handler
    }

    /// Makes an already registered route start its handler on the daemon thread.
    mutating func markInline(method: HTTPRequest.Method, template: String) throws {
        routes[try registered(method: method, template: template)].runsInline = true
    }

    /// The index of the route registered for `method` and a template of the same shape.
    private func registered(method: HTTPRequest.Method, template: String) throws -> Int {
        let shape = Self.shape(Self.parse(template: template))
        guard let index = routes.firstIndex(where: { $0.method == method && Self.shape($0.segments) == shape }) else {
            throw HTTPServerError.unknownRoute(method: method.rawValue, path: template)
        }
        return index
    }

    /// Splits a template into segments; `{name}` becomes a parameter.
    static func parse(template: String) -> [Segment] {
        template.split(separator: "/", omittingEmptySubsequences: true).map { piece in
            if piece.hasPrefix("{") && piece.hasSuffix("}") {
                return .parameter(String(piece.dropFirst().dropLast()))
            }
            return .literal(String(piece))
        }
    }

    /// Adds a route; registering the same method and template twice is a programming error.
    mutating func add(method: HTTPRequest.Method, template: String, handler: @escaping RouteHandler) throws {
        let segments = Self.parse(template: template)
        // Templates differing only in parameter names are the same path (OpenAPI: they MUST NOT both exist).
        if routes.contains(where: { $0.method == method && Self.shape($0.segments) == Self.shape(segments) }) {
            throw HTTPServerError.duplicateRoute(method: method.rawValue, path: template)
        }
        routes.append(Route(method: method, template: template, segments: segments, handler: handler))
    }

    /// Finds the route for `path` (without query string); distinguishes unknown paths from wrong methods.
    /// A concrete path wins over a templated one (`/v1/events/stream` before `/v1/events/{id}`), as OpenAPI
    /// requires, whatever the registration order.
    func match(method: String, path: Substring) -> Match {
        let pieces = Self.pieces(of: path)
        var allowed: [String] = []
        var template: String?
        var best: (route: Route, parameters: [String: Substring])?
        for index in routes.indices where routes[index].segments.count == pieces.count {
            guard let parameters = Self.bind(routes[index].segments, to: pieces) else { continue }
            let route = routes[index]
            if route.method.rawValue == method {
                if best == nil || Self.isMoreSpecific(route.segments, than: best!.route.segments) {
                    best = (route, parameters)
                }
                continue
            }
            if !allowed.contains(route.method.rawValue) { allowed.append(route.method.rawValue) }
            template = template ?? route.template
        }
        if let best { return .found(best.route, parameters: best.parameters) }
        if let template { return .methodNotAllowed(allowed: allowed, template: template) }
        return .notFound
    }

    /// Every method registered for `path` (async and immediate routes) and the most specific template
    /// matching it, or nil for an unknown path: what a CORS preflight is answered with.
    func methods(for path: String) -> (methods: [String], template: String)? {
        var methods = immediate[path].map { $0.keys.sorted() } ?? []
        let pieces = Self.pieces(of: Substring(path))
        var best: Route?
        for route in routes where Self.bind(route.segments, to: pieces) != nil {
            if !methods.contains(route.method.rawValue) { methods.append(route.method.rawValue) }
            if best == nil || Self.isMoreSpecific(route.segments, than: best!.segments) { best = route }
        }
        guard let template = immediate[path] != nil ? path : best?.template else { return nil }
        return (methods, template)
    }

    /// True when, at the first segment where they differ in kind, `a` has a literal and `b` a parameter.
    private static func isMoreSpecific(_ a: [Segment], than b: [Segment]) -> Bool {
        for (x, y) in zip(a, b) {
            switch (x, y) {
            case (.literal, .parameter): return true
            case (.parameter, .literal): return false
            default: continue
            }
        }
        return false
    }

    /// The template with parameter names erased.
    private static func shape(_ segments: [Segment]) -> [Segment] {
        segments.map { segment in
            if case .parameter = segment { return .parameter("") }
            return segment
        }
    }

    /// The non-empty segments of a path, split on `/` byte-wise (`split` on a `Substring` compares Characters,
    /// which was half of a request's routing time).
    static func pieces(of path: Substring) -> [Substring] {
        var pieces: [Substring] = []
        let utf8 = path.utf8
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: "/") {
                if index != start { pieces.append(path[start..<index]) }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        if start != utf8.endIndex { pieces.append(path[start..<utf8.endIndex]) }
        return pieces
    }

    /// The path parameters when `pieces` fit `segments`. Literals are compared first, as bytes, so the many
    /// templates a request does not fit cost no allocation (most of a request's routing time before).
    private static func bind(_ segments: [Segment], to pieces: [Substring]) -> [String: Substring]? {
        guard segments.count == pieces.count else { return nil }
        for (segment, piece) in zip(segments, pieces) {
            switch segment {
            case .literal(let literal):
                guard piece.utf8.elementsEqual(literal.utf8) else { return nil }
            case .parameter:
                guard !piece.isEmpty else { return nil }
            }
        }
        var parameters: [String: Substring] = [:]
        for (segment, piece) in zip(segments, pieces) {
            if case .parameter(let name) = segment { parameters[name] = piece }
        }
        return parameters
    }
}

/// A response computed at once, without suspending the connection: for cheap routes that never wait.
public struct ImmediateResponse: Sendable {
    /// HTTP status code.
    public var status: Int
    /// Header fields (Content-Length is added by the transport).
    public var headers: [(String, String)]
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A synchronous handler: runs on a libmicrohttpd thread, so it must never block or wait.
public typealias ImmediateHandler = @Sendable () -> ImmediateResponse

/// What a fast or direct path sees of a request: its path parameters, query string, headers and body.
public struct FastPathRequest: Sendable {
    /// Path parameters by name, still percent-encoded.
    public let parameters: [String: Substring]
    /// The query string, if any (without `?`).
    public let query: String?
    let headers: [(String, String)]
    /// The request body (empty for a fast path: it answers bodiless reads).
    public var body: [UInt8] = []

    /// The first value of a header, by lowercase name.
    public func header(_ lowercaseName: String) -> String? { firstHeader(lowercaseName, in: headers) }
}

/// A synchronous answer for a routed operation, tried before its async handler on the daemon thread: it returns
/// a response when it can give one at once (e.g. from memory), nil to let the handler answer. Never blocks.
public typealias FastPathHandler = @Sendable (FastPathRequest) -> ImmediateResponse?

/// An async answer for a routed operation, tried first in the operation's task (so it may wait): it returns a
/// response for the requests it takes, nil for any other, which the operation's handler then answers as usual.
/// Returning nil must leave nothing changed: the handler runs the same request again.
public typealias DirectPathHandler = @Sendable (FastPathRequest) async -> ImmediateResponse?

/// Errors raised by the transport itself (not by handlers).
public enum HTTPServerError: Error, CustomStringConvertible, Sendable {
    /// The same method and path template was registered twice.
    case duplicateRoute(method: String, path: String)
    /// The listen address could not be parsed.
    case invalidListenAddress(String)
    /// libmicrohttpd refused to start (address in use, permission, ...).
    case startFailed(String)
    /// `start()` was called twice, or `register` after `start()`.
    case alreadyStarted
    /// An entry of `HTTPServerConfiguration.corsAllowedOrigins` is neither `*` nor an origin.
    case invalidCORSOrigin(String)
    /// A fast path was given for an operation that is not registered.
    case unknownRoute(method: String, path: String)

    /// A one-line explanation for logs and the command line.
    public var description: String {
        switch self {
        case .duplicateRoute(let method, let path): "route \(method) \(path) is registered twice"
        case .invalidListenAddress(let text): "invalid listen address '\(text)': expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"
        case .startFailed(let reason): "HTTP server failed to start: \(reason)"
        case .alreadyStarted: "the HTTP server is already started"
        case .invalidCORSOrigin(let text): "invalid CORS origin '\(text)': expected '*' or SCHEME://HOST[:PORT], e.g. http://localhost:3000"
        case .unknownRoute(let method, let path): "no route \(method) \(path) to give a fast path"
        }
    }
}
