import Synchronization

/// A bounded table of values recently computed from their keys (memoization on hot paths: decoded request
/// bodies, addresses shown by the API, rendered address texts). Emptied when full rather than kept in LRU
/// order: entries are cheap to compute again, and the bookkeeping of an LRU would cost more than the misses.
public final class RecentTable<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let limit: Int
    private let entries = Mutex<[Key: Value]>([:])

    /// A table of at most `limit` entries.
    public init(limit: Int) { self.limit = limit }

    /// The value kept for `key`, if any.
    public subscript(key: Key) -> Value? { entries.withLock { $0[key] } }

    /// Keeps `value` for `key`, emptying the table first when it is full.
    public func keep(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
    }

    /// How many entries are kept now.
    public var count: Int { entries.withLock { $0.count } }
}
