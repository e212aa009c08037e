/// How much event history to keep; a `nil` limit is off.
///
/// An event is prunable when it started longer ago than `maxAge` (by `events.at`) *or* is not among
/// the newest `maxEvents` events (by id) — and its subject is done: its socket is closed and its probe
/// is not running (an event with neither subject qualifies). Events of open sockets and running probes
/// are kept however old they are; they still count toward `maxEvents`, so while some of them are among
/// the oldest, more than `maxEvents` events remain. Once every event of a closed socket or a finished
/// probe is gone, the socket or probe row goes too (a probe takes its results with it).
public struct RetentionPolicy: Sendable, Equatable {
    /// Events that started longer ago than this are prunable; `nil`: no age limit. Not negative.
    public var maxAge: Duration?
    /// Only the newest this many events are kept; `nil`: no count limit. Not negative.
    public var maxEvents: Int?
    /// The most events one `pruneBatch` deletes: it bounds how long a batch holds the write lock. At least 1.
    public var batchSize: Int

    /// Creates a policy; without limits it prunes nothing.
    public init(maxAge: Duration? = nil, maxEvents: Int? = nil, batchSize: Int = 500) {
        self.maxAge = maxAge
        self.maxEvents = maxEvents
        self.batchSize = batchSize
    }
}

/// One pruning pass: a walk over the event log by ascending id, from `beginPass` until `pruneBatch`
/// reports it finished (`isFinished`, or a batch's `nextAfter == nil`).
///
/// The limits are turned into id and time boundaries once, when the pass begins (the `maxEvents`
/// boundary costs a walk over the newest `maxEvents` ids, so it is not repeated per batch). Events
/// written during the pass only make those boundaries conservative: the pass never deletes an event that
/// was among the newest `maxEvents` when it began. Kept events (open sockets, running probes) are stepped
/// over once per pass, not rescanned per batch. What becomes prunable behind the cursor during the pass (a
/// socket closing, time passing) is for the next pass, which starts again from the oldest event.
public struct RetentionPass: Sendable, Equatable {
    /// The most events one batch deletes (the policy's `batchSize`).
    public let batchSize: Int
    /// Events that started before this (unix µs) are expired; `nil` without `maxAge`.
    public let ageCutoff: Int64?
    /// Events with an id up to this one are beyond the newest `maxEvents`; `nil` when none is.
    public let countBoundary: Int64?
    /// The resume cursor: every event with an id up to this one has been looked at by this pass.
    public internal(set) var after: Int64 = 0
    /// Whether the walk is over; `pruneBatch` then does nothing.
    public internal(set) var isFinished: Bool
    /// The highest id the walk goes to.
    var end: Int64
    /// Whether `end` covers every expired event. Begins as the id of the latest-*started* expired event
    /// (one index probe), which is exact but for events that started earlier and were written later; the
    /// exact maximum is looked up when the walk gets there, when all but the kept expired events are gone.
    var endIsExact: Bool
}

/// What one `pruneBatch` did.
public struct PruneBatchResult: Sendable, Equatable {
    /// Events deleted; at most the pass's `batchSize`.
    public var deletedEvents: Int
    /// Closed sockets deleted because none of their events was left.
    public var deletedSockets: Int
    /// Finished probes deleted (with their results) because none of their events was left.
    public var deletedProbes: Int
    /// The pass's cursor after this batch; `nil` when the pass is finished: nothing more to prune now.
    public var nextAfter: Int64?
}
