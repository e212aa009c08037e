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
    /// Where each operation's handler starts, once declared (`declare(_:)`); nil: every one on the task pool.
    private(set) var lanes: [Lane]?

    /// Declares where every operation starts; from then on, registering an operation the table does not name
    /// is an error, and so is starting with a declared operation that was never registered.
    mutating func declare(_ lanes: [Lane]) throws {
        guard routes.isEmpty else { throw HTTPServerError.alreadyStarted }
        var seen: [[Segment]] = []
        for lane in lanes {
            let key = [Segment.literal(lane.method.rawValue)] + Self.shape(Self.parse(template: lane.path))
            guard !seen.contains(key) else { throw HTTPServerError.duplicateRoute(method: lane.method.rawValue, path: lane.path) }
            seen.append(key)
        }
        self.lanes = lanes
    }

    /// The declared lanes no registered route took (empty when none were declared).
    var unregisteredLanes: [Lane] {
        (lanes ?? []).filter { lane in
            let shape = Self.shape(Self.parse(template: lane.path))
            return !routes.contains { $0.method == lane.method && Self.shape($0.segments) == shape }
        }
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
        var runsInline = false
        if let lanes {
            guard let lane = lanes.first(where: { $0.method == method && Self.shape(Self.parse(template: $0.path)) == Self.shape(segments) }) else {
                throw HTTPServerError.undeclaredLane(method: method.rawValue, path: template)
            }
            runsInline = lane.start == .daemonThread
        }
        routes.append(Route(method: method, template: template, segments: segments, handler: handler, runsInline: runsInline))
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

    /// Every method registered for `path` and the most specific template matching it, or nil for an unknown path: what a CORS preflight is answered with.
    func methods(for path: String) -> (methods: [String], template: String)? {
        var methods: [String] = []
        let pieces = Self.pieces(of: Substring(path))
        var best: Route?
        for route in routes where Self.bind(route.segments, to: pieces) != nil {
            if !methods.contains(route.method.rawValue) { methods.append(route.method.rawValue) }
            if best == nil || Self.isMoreSpecific(route.segments, than: best!.segments) { best = route }
        }
        guard let template = best?.template else { return nil }
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
