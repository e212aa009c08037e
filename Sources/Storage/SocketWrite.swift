/// One socket operation's history: the session row as it now is, and the event that records the operation.
public struct SocketWrite: Sendable, Equatable {
    /// What the row needs in SQLite.
    public enum Kind: Sendable {
        /// A new session: INSERT.
        case insert
        /// State, addresses, options or close columns changed: UPDATE of every column.
        case update
        /// Only the counters moved: UPDATE of those, which leaves the indexed columns' pages alone.
        case counters

        /// What one row needs after two writes to it in the same batch.
        func merged(with later: Kind) -> Kind {
            if self == .insert || later == .insert { return .insert }
            return self == .update || later == .update ? .update : .counters
        }
    }

    public var kind: Kind
    public var socket: SocketRecord
    /// Its `id` is assigned by SQLite when the batch holding it commits.
    public var event: EventRecord

    /// Creates a write.
    public init(kind: Kind, socket: SocketRecord, event: EventRecord) {
        self.kind = kind
        self.socket = socket
        self.event = event
        self.event.netns = socket.netns  // every operation's history names the socket's namespace
    }
}

/// Why a history write could not be made durable: SQLite refused to commit for a reason other than the
/// write's content (a full disk, an I/O error). `tookEffect` says whether the operation the write records had
/// already happened (its write then stays queued until it commits) or whether nothing was done.
public struct HistoryUnavailable: Error, Sendable, CustomStringConvertible {
    /// What SQLite answered to the last commit.
    public var cause: DatabaseError
    /// The operation happened; its history is queued and will be written once SQLite accepts it.
    public var tookEffect: Bool

    /// Creates the error.
    public init(cause: DatabaseError, tookEffect: Bool) {
        self.cause = cause
        self.tookEffect = tookEffect
    }

    /// Whether the disk (or a quota) is full: SQLITE_FULL.
    public var isDiskFull: Bool { cause.isDiskFull }

    public var description: String {
        "history cannot be written (\(cause))" + (tookEffect ? "; the operation took effect and its history is queued" : "")
    }
}
