public import HTTPTypes

/// Where an operation's handler starts: the table that says it for every operation is declared once
/// (`MicroHTTPDTransport.declare(lanes:)`).
public struct Lane: Sendable {
    /// Where the handler starts.
    public enum Start: Sendable {
        /// On the daemon thread that read the request (`HandlerExecutor`): a handler that does not suspend is
        /// answered there, with no suspend/resume and no thread hand-off; one that suspends continues on the
        /// task pool. Only for small, bounded work: the thread's other connections wait while it runs.
        case daemonThread
        /// On the task pool, the connection suspended meanwhile: for work that grows with its answer.
        case taskPool
    }

    /// The operation's method.
    public var method: HTTPRequest.Method
    /// The operation's OpenAPI path template.
    public var path: String
    /// Where its handler starts.
    public var start: Start

    /// Declares a lane.
    public init(_ method: HTTPRequest.Method, _ path: String, _ start: Start) {
        self.method = method
        self.path = path
        self.start = start
    }
}
