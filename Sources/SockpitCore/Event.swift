public import Storage

/// One recorded operation or happening, of a socket or a probe, as the domain shows it.
public struct Event: Sendable, Equatable {
    /// Global, ever-increasing id (SQLite's).
    public var id: Int64
    /// Unix microseconds when the operation started.
    public var at: Int64
    public var socketID: String?
    public var probeID: String?
    /// The network namespace of its socket or probe; nil: the service's own.
    public var netns: String?
    /// The operation: create, bind, connect, send, close, probe.start, ...
    public var op: String
    public var outcome: Outcome
    public var errno: String?
    public var errorMessage: String?
    public var durationUs: Int64?
    /// The operation's arguments (payloads as size + bounded preview).
    public var args: Detail?
    /// The operation's result.
    public var result: Detail?
    /// Payload bytes moved by the operation, if any.
    public var bytes: Int64?

    /// How an operation ended.
    public enum Outcome: String, Sendable {
        case ok
        case error
        case timeout
    }

    /// The event a stored row describes (an outcome no version writes reads as `error`).
    init(_ record: EventRecord) {
        id = record.id
        at = record.at
        socketID = record.socketID
        probeID = record.probeID
        netns = record.netns
        op = record.op
        outcome = Outcome(rawValue: record.outcome) ?? .error
        errno = record.errno
        errorMessage = record.errorMessage
        durationUs = record.durationUs
        args = record.args
        result = record.result
        bytes = record.bytes
    }

    /// The payload bytes this event moved, by direction: a send's are sent, a receive's received, anything
    /// else's none. The one rule behind the byte totals of stats and metrics.
    public var payload: (sent: Int64, received: Int64) {
        let bytes = max(0, self.bytes ?? 0)
        switch op {
        case "send": return (bytes, 0)
        case "receive": return (0, bytes)
        default: return (0, 0)
        }
    }
}
