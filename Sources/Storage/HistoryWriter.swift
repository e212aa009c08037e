import Dispatch
public import Logging
import Synchronization

/// Every write to the history goes through here, in one id order, and every event reaches the observer once,
/// in that order.
///
/// Socket operations, the hot path, are *appended*: one record in the pending log beside the database
/// (`PendingLog`, one `write(2)`), and the operation is acknowledged. A background queue applies pending
/// records to SQLite in batches, one transaction for many operations, with each socket row written once per
/// batch however many operations touched it. Why: measured under the lifecycle benchmark, committing every
/// operation to SQLite (a WAL frame for each page of every B-tree touched, WAL locks, checkpoint copies) was
/// ~45 % of the server's CPU; with the log, an operation costs one small `write(2)` and its share of a batch.
///
/// Durability is unchanged for what the service promises: a record is in the kernel before the client hears
/// of it, so `kill -9` loses nothing acknowledged — the next open applies the log (`replay`). Reads never see
/// less than was acknowledged: `Database.read` first waits for pending records to be applied (`settle`).
///
/// Everything else (probes, recovery, the writes tests make) goes through `write`: the pending records are
/// applied first, then the closure runs in its own transaction, under the append lock so that its events
/// take the next ids and are observed in order.
///
/// Locks, always taken in this order: `appendState` → `applying` → the database's; `pending` is a leaf.
public final class HistoryWriter: Sendable {
    private struct AppendState {
        var opened = false
        /// Closed by `close()`: no more writes.
        var closed = false
        /// The id the next event gets.
        var nextEventID: Int64 = 1
        /// The id of the newest record in the log.
        var lastLogged: Int64 = 0
    }

    private struct PendingState {
        var writes: [PendingWrite] = []
        /// A batch has been taken and is being applied.
        var applying = false
        /// The newest logged id known to be in SQLite.
        var appliedThrough: Int64 = 0
        var scheduled = false
    }

    /// The database the writes go to.
    public let database: Database
    private let observer: @Sendable ([EventRecord]) -> Void
    private let logger: Logger
    // The log is touched only under `appendState`.
    nonisolated(unsafe) private let log: PendingLog
    private let appendState = Mutex(AppendState())
    private let pending = Mutex(PendingState())
    /// Serializes applying batches to SQLite (the background queue, readers settling, `write`).
    private let applying = Mutex(())
    private let queue = DispatchQueue(label: "sockpit.history-writer", qos: .userInitiated)
    /// How long the first pending record waits for others to share its transaction. Nothing waits on it:
    /// readers apply what is pending themselves (`settle`), live events are published when logged.
    /// Measured under the lifecycle load: applied at once, 1.9 writes shared a commit (105 µs of commit time per
    /// write); after 10 ms, 25 (26 µs per write).
    static let applyDelay = DispatchTimeInterval.milliseconds(10)
    /// Most records applied in one transaction.
    static let maxBatch = 1024
    /// Past this size the log is emptied (after applying what is pending): about 2,500 operations.
    static let truncateAfterBytes = 1 << 20
    private let committedWrites = Atomic<Int>(0)
    private let commits = Atomic<Int>(0)
    private let busyNanoseconds = Atomic<Int>(0)
    /// Unopened, open (the log replayed), or closed: readable without the append lock.
    private let phase = Atomic<Int>(Phase.unopened)
    private enum Phase {
        static let unopened = 0
        static let open = 1
        static let closed = 2
    }

    /// Totals since start: writes acknowledged, SQLite transactions they took, and time spent in them.
    public var statistics: (writes: Int, commits: Int, busy: Duration) {
        (committedWrites.load(ordering: .relaxed), commits.load(ordering: .relaxed),
         .nanoseconds(busyNanoseconds.load(ordering: .relaxed)))
    }

    /// Creates the writer of `database` (one per database); `observer` receives every event once it is
    /// durable, in id order, under the writer's append lock — keep it short, and never write from it.
    public init(database: Database, logger: Logger, observer: @escaping @Sendable ([EventRecord]) -> Void = { _ in }) {
        self.database = database
        self.logger = logger
        self.observer = observer
        log = PendingLog(path: database.path + "-pending")
        database.setReadBarrier { [weak self] in try self?.settle() }
    }

    // MARK: - Appending (socket operations)

    /// Logs one socket operation and returns its event with its id; SQLite gets it shortly after.
    func append(_ write: PendingWrite) throws -> EventRecord {
        var write = write
        let schedule = try appendState.withLock { state throws -> Bool in
            try openIfNeeded(&state)
            write.event.id = state.nextEventID
            try log.append(write.framed())
            state.nextEventID += 1
            state.lastLogged = write.event.id
            committedWrites.add(1, ordering: .relaxed)
            let schedule = pending.withLock { pending in
                pending.writes.append(write)
                defer { pending.scheduled = true }
                return !pending.scheduled
            }
            observer([write.event])
            truncateIfLarge()
            return schedule
        }
        // Weak: a writer let go of without `close()` (a simulated crash) must not be kept alive, log lock and all.
        if schedule { queue.asyncAfter(deadline: .now() + Self.applyDelay) { [weak self] in self?.applyInBackground() } }
        return write.event
    }

    /// Applies what was pending when it started (later writes wait for the next round, `applyDelay` on, so
    /// that batches stay large under steady load), then schedules that round if anything is pending.
    private func applyInBackground() {
        let through = appendState.withLock { $0.lastLogged }
        var delay = Self.applyDelay
        do { try applying.withLock { _ in try drain(through: through) } } catch {
            logger.error("applying pending history failed; retrying", metadata: ["db.error": "\(error)"])
            delay = .milliseconds(100)
        }
        let again = pending.withLock { pending in
            pending.scheduled = !pending.writes.isEmpty
            return pending.scheduled
        }
        if again { queue.asyncAfter(deadline: .now() + delay) { [weak self] in self?.applyInBackground() } }
    }

    /// Under the append lock, once the log has grown past `truncateAfterBytes`: applies what is pending (a few
    /// milliseconds' worth, whatever the log's size) and empties the log, so it never grows without bound.
    private func truncateIfLarge() {
        guard log.size > Self.truncateAfterBytes else { return }
        do {
            try applying.withLock { _ in try drain() }
            try log.truncate()
        } catch {
            logger.warning("emptying the pending history log failed; it stays until the next try",
                           metadata: ["error": "\(error)"])
        }
    }

    /// Waits until every write acknowledged so far is in SQLite (applying what is pending on this thread).
    public func settle() throws {
        switch phase.load(ordering: .acquiring) {
        case Phase.unopened: try appendState.withLock { try openIfNeeded(&$0) }
        case Phase.closed: return
        default: break
        }
        if pending.withLock({ $0.writes.isEmpty && !$0.applying }) { return }
        try applyPending()
    }

    /// Applies pending records, batch after batch, until none is left (or one fails: it stays pending).
    private func applyPending() throws {
        try applying.withLock { _ in try drain() }
    }

    /// `applyPending` for a caller that already holds `applying`. While a batch is out of `pending` and not yet
    /// committed, `applying` is set, so that `settle` waits for it rather than reading past it.
    private func drain(through: Int64 = .max) throws {
        while true {
            let batch = pending.withLock { pending -> [PendingWrite] in
                let due = pending.writes.prefix(Self.maxBatch).prefix { $0.event.id <= through }.count
                let count = min(due, Self.maxBatch)
                guard count > 0 else { return [] }
                pending.applying = true
                defer { pending.writes.removeFirst(count) }
                return Array(pending.writes.prefix(count))
            }
            guard let last = batch.last else { return }
            do {
                try apply(batch)
            } catch {
                pending.withLock { pending in
                    pending.writes.insert(contentsOf: batch, at: 0)
                    pending.applying = false
                }
                throw error
            }
            pending.withLock { pending in
                pending.appliedThrough = last.event.id
                pending.applying = false
            }
        }
    }

    /// One transaction for the batch: each socket row once (inserted or updated to its newest state), then
    /// every event with its id.
    ///
    /// A batch that SQLite refuses for its content (a constraint) is applied again write by write, and a write
    /// it still refuses is dropped with an error in the log: one bad record must not hold every later one back.
    /// (A write already in SQLite, re-applied after a partial failure, is refused the same way: no duplicate.)
    /// Any other failure (busy, I/O, disk full) is thrown: the batch stays pending and is tried again, and the
    /// log keeps it until it is in.
    private func apply(_ batch: [PendingWrite]) throws {
        let started = ContinuousClock.now
        defer { busyNanoseconds.add((ContinuousClock.now - started).wholeNanoseconds, ordering: .relaxed) }
        do {
            try database.write { db in try Self.apply(batch, to: db) }
            commits.add(1, ordering: .relaxed)
            return
        } catch let error as DatabaseError where error.isConstraintViolation {
            guard batch.count > 1 else {
                logger.error("dropped a history write SQLite refused", metadata: [
                    "db.error": "\(error)", "event.id": "\(batch[0].event.id)", "socket.id": "\(batch[0].socket.id)"])
                return
            }
            logger.error("a batch of pending history was refused; applying it write by write",
                         metadata: ["db.error": "\(error)", "history.batch": "\(batch.count)"])
        }
        for write in batch {
            do {
                try database.write { db in try Self.apply([write], to: db) }
                commits.add(1, ordering: .relaxed)
            } catch let error as DatabaseError where error.isConstraintViolation {
                logger.error("dropped a history write SQLite refused",
                             metadata: ["db.error": "\(error)", "event.id": "\(write.event.id)", "socket.id": "\(write.socket.id)"])
            }
        }
    }

    static func apply(_ batch: [PendingWrite], to db: Connection) throws {
        var rows: [String: (kind: PendingWrite.Kind, record: SocketRecord)] = [:]
        var order: [String] = []
        for write in batch {
            if let row = rows[write.socket.id] {
                // Inserted in this batch stays an insert; any full update makes the row a full update.
                let kind: PendingWrite.Kind = row.kind == .insert || write.kind == .insert ? .insert
                    : (row.kind == .update || write.kind == .update ? .update : .counters)
                rows[write.socket.id] = (kind, write.socket)
            } else {
                rows[write.socket.id] = (write.kind, write.socket)
                order.append(write.socket.id)
            }
        }
        for id in order {
            let (kind, socket) = rows[id]!
            switch kind {
            case .insert: try SQLiteHistory.insert(socket, into: db)
            case .update: try SQLiteHistory.update(socket, into: db)
            case .counters: try SQLiteHistory.updateCounters(socket, into: db)
            }
        }
        for write in batch { try SQLiteHistory.insert(event: write.event, into: db) }
    }

    // MARK: - Opening: replaying what a killed process left

    /// On first use: applies the records a previous process logged but did not apply, and empties the log.
    private func openIfNeeded(_ state: inout AppendState) throws {
        guard !state.closed else { throw DatabaseError.closed }
        guard !state.opened else { return }
        let contents = try log.open()
        do { try replay(contents, into: &state) } catch {
            // Nothing is lost: the log stays as it was for the next try (a start that fails says why).
            log.close(removing: false)
            throw error
        }
        state.opened = true
        phase.store(Phase.open, ordering: .releasing)
    }

    /// Applies the records past SQLite's newest event, empties the log and sets the next id.
    private func replay(_ contents: [UInt8], into state: inout AppendState) throws {
        let (writes, _) = PendingWrite.records(in: contents)
        let stored = try database.write { db in
            max(try db.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'")?.int ?? 0,
                try db.scalar("SELECT max(id) FROM events")?.int ?? 0)
        }
        let missing = writes.filter { $0.event.id > stored }
        var index = 0
        while index < missing.count {
            let batch = Array(missing[index..<min(index + Self.maxBatch, missing.count)])
            try apply(batch)
            index += batch.count
        }
        if !missing.isEmpty {
            logger.notice("applied history acknowledged before the last stop", metadata: ["history.writes": "\(missing.count)"])
        }
        try log.truncate()
        state.nextEventID = max(stored, writes.last?.event.id ?? 0) + 1
        state.lastLogged = state.nextEventID - 1
        pending.withLock { $0.appliedThrough = state.lastLogged }
    }

    // MARK: - Other writes

    /// Runs `body` in a transaction of its own once every pending record is applied, under the append lock:
    /// its events get the next ids and are observed before any later write. Returns after the commit.
    ///
    /// `body` returns its value and the events it inserted (with their ids). If `body` throws, nothing of it
    /// is stored and the error is rethrown.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> (T, [EventRecord])) async throws -> T {
        var outcome: Result<T, any Error> = .failure(DatabaseError.closed)
        appendState.withLock { state in
            outcome = Result {
                try openIfNeeded(&state)
                let (value, events) = try applying.withLock { _ in
                    try drain()
                    let started = ContinuousClock.now
                    defer { busyNanoseconds.add((ContinuousClock.now - started).wholeNanoseconds, ordering: .relaxed) }
                    return try database.write { db in try body(db) }
                }
                commits.add(1, ordering: .relaxed)
                committedWrites.add(1, ordering: .relaxed)
                if let last = events.last?.id, last >= state.nextEventID { state.nextEventID = last + 1 }
                if !events.isEmpty { observer(events) }
                return value
            }
        }
        return try outcome.get()
    }

    /// Closes the log as a killed process leaves it: nothing more applied, the file kept for the next start,
    /// its lock released. For crash simulations; a real stop calls `close()`.
    public func abandon() {
        appendState.withLock { state in
            guard state.opened, !state.closed else { return }
            log.close(removing: false)
            state.closed = true
            phase.store(Phase.closed, ordering: .releasing)
        }
    }

    /// Runs `body` in a transaction of its own, outside the ordered section: for bulk rows that are no events
    /// (a probe's results), so that appends never wait for them. It may not insert events.
    public func writeUnordered<T>(_ body: (Connection) throws -> T) throws -> T {
        let started = ContinuousClock.now
        defer { busyNanoseconds.add((ContinuousClock.now - started).wholeNanoseconds, ordering: .relaxed) }
        let value = try database.write(body)
        commits.add(1, ordering: .relaxed)
        return value
    }

    /// Applies everything pending and removes the log (a clean stop leaves nothing for the next start).
    public func close() throws {
        try appendState.withLock { state in
            guard state.opened else { return }
            try applying.withLock { _ in try drain() }
            log.close(removing: true)
            state.closed = true
            phase.store(Phase.closed, ordering: .releasing)
        }
    }
}
