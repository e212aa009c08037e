import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// Everything the transport knows about one request, from the first access-handler call to the completion
/// notification. Retained by libmicrohttpd's `con_cls` slot (released in the completion callback) and by the
/// handler task while it runs.
///
/// Fields under "daemon thread" are touched only by the libmicrohttpd thread that owns the connection (a
/// connection never moves between pool threads); `shared` is what the handler task and shutdown also touch.
final class RequestContext: @unchecked Sendable {
    /// Where the request is in its life.
    enum Phase {
        case receiving
        case running
        case answered
    }

    /// State shared with the handler task and with shutdown.
    struct Shared {
        var suspended = false
        /// The handler is running inline on the daemon thread, inside `dispatch`: its response is taken there.
        var inline = false
        var response: PreparedResponse?
        var stream: ResponseStream?
    }

    // daemon thread
    let started = ContinuousClock.now
    let connection: ConnectionHandle
    let method: String
    let path: String
    var headers: [(String, String)] = []
    var query: String?
    var body: [UInt8] = []
    /// The upload grew past the limit: the rest is discarded and 413 answered once it has been read.
    var bodyTooLarge = false
    var phase = Phase.receiving
    var status = 0
    var route: String?
    /// The request's `Origin` when the CORS policy allows it: its response gets the CORS headers.
    var corsOrigin: String?

    let shared = Mutex(Shared())

    init(connection: ConnectionHandle, method: String, path: String) {
        self.connection = connection
        self.method = method
        self.path = path
    }

    /// The request's target as sent: path plus query string, still percent-encoded.
    var target: String {
        guard let query, !query.isEmpty else { return path }
        return path + "?" + query
    }

    /// The first value of a request header; `lowercaseName` must be lowercase ASCII.
    func header(_ lowercaseName: String) -> String? { firstHeader(lowercaseName, in: headers) }

    /// Stores the response and says whether the caller must resume the connection (exactly once). A handler
    /// that finishes while still inline leaves its response for `dispatch`, which queues it without resuming.
    func complete(with response: PreparedResponse) -> Bool {
        shared.withLock { state in
            guard state.response == nil else { return false }
            if state.inline {
                state.response = response
                return false
            }
            guard state.suspended else { return false }
            state.response = response
            state.suspended = false
            return true
        }
    }

    /// Takes the response stored by the handler task, if any.
    func takeResponse() -> PreparedResponse? {
        shared.withLock { state in
            defer { state.response = nil }
            return state.response
        }
    }
}

/// The first value of the header `lowercaseName` (lowercase ASCII) in `headers`. Compares without allocating,
/// as it runs on the daemon thread for every request.
func firstHeader(_ lowercaseName: String, in headers: [(String, String)]) -> String? {
    headers.first { name, _ in
        name.utf8.count == lowercaseName.utf8.count
            && zip(name.utf8, lowercaseName.utf8).allSatisfy { a, b in (a >= 65 && a <= 90 ? a | 0x20 : a) == b }
    }?.1
}
