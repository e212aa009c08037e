import Dispatch
public import Logging
import Synchronization

/// Group commit for the history: writes from many tasks share one transaction, and the events they
/// appended are handed to an observer in commit (= id) order once they are durable.
///
/// Why: a transaction costs far more than the rows in it (BEGIN/COMMIT, a WAL frame for every page touched —
/// the same few index leaf pages for every appended event). Each `write` waits for its own commit, so an
/// answered operation is still always in history; but while one batch commits, the writes that arrive queue
/// up and go into the next one together. Nothing waits on a timer: a lone write commits at once.
///
/// Leader/follower: a write that finds nobody committing commits at once on its own thread (no hop); writes
/// that arrive meanwhile queue up, and the leader hands them to one serial dispatch queue (outside Swift's
/// cooperative pool) that commits them as batches. Only one drainer runs at a time, so commits — and
/// therefore observer calls — are strictly ordered: a live-event subscriber sees ids ascending, which is
/// what gap-free stream resumption needs.
public final class HistoryWriter: Sendable {
    /// One caller's write: the closure, and how to hand its result back.
    private struct Job: Sendable {
        let body: @Sendable (Connection) throws -> [EventRecord]
        let complete: @Sendable (Result<Void, any Error>) -> Void
    }

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    /// The database the writes go to.
    public let database: Database
    private let observer: @Sendable ([EventRecord]) -> Void
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "sockpit.history-writer", qos: .userInitiated)
    private let logger: Logger
    /// The largest number of writes put into one transaction (bounds how long one commit holds the lock).
    static let maxBatch = 256
    private let committedWrites = Atomic<Int>(0)
    private let commits = Atomic<Int>(0)
    private let busyNanoseconds = Atomic<Int>(0)

    /// Totals since start: writes committed, transactions they took, and time spent committing.
    public var statistics: (writes: Int, commits: Int, busy: Duration) {
        (committedWrites.load(ordering: .relaxed), commits.load(ordering: .relaxed),
         .nanoseconds(busyNanoseconds.load(ordering: .relaxed)))
    }

    /// Creates a writer; `observer` receives the events of every committed batch, in id order, on the
    /// writer's thread before the writers are resumed — keep it short and non-blocking.
    public init(database: Database, logger: Logger, observer: @escaping @Sendable ([EventRecord]) -> Void = { _ in }) {
        self.database = database
        self.logger = logger
        self.observer = observer
    }

    /// Runs `body` inside a shared write transaction and returns once that transaction has committed.
    ///
    /// `body` returns its value and the events it appended (with their ids). If `body` throws, only its own
    /// changes are rolled back (it runs inside a savepoint) and the error is rethrown here; if the commit
    /// itself fails, every write of the batch gets that error and none of them is in history.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> (T, [EventRecord])) async throws -> T {
        let box = ResultBox<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                body: { connection in
                    let (value, events) = try body(connection)
                    box.value = value
                    return events
                },
                complete: { result in
                    switch result {
                    case .success: continuation.resume(returning: box.value!)
                    case .failure(let error): continuation.resume(throwing: error)
                    }
                })
            let lead = state.withLock { state in
                state.pending.append(job)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            guard lead else { return }
            // Leader: nobody is committing, so commit what is pending (this write included) right here, on
            // this thread — a lone write costs no thread hop. What queued up meanwhile goes to the writer queue,
            // so that this caller is never held up committing other callers' writes for long.
            commit(takeBatch())
            if !finishDrainingIfIdle() { queue.async { self.drain() } }
        }
    }

    /// Commits batches until nothing is pending (writer queue; started by a leader that found more work).
    private func drain() {
        repeat {
            commit(takeBatch())
        } while !finishDrainingIfIdle()
    }

    /// The next batch, oldest first (only the drainer calls it).
    private func takeBatch() -> [Job] {
        state.withLock { state in
            let count = min(state.pending.count, Self.maxBatch)
            defer { state.pending.removeFirst(count) }
            return Array(state.pending.prefix(count))
        }
    }

    /// Ends the drainer's turn when nothing is pending; false when there is more to commit.
    private func finishDrainingIfIdle() -> Bool {
        state.withLock { state in
            guard state.pending.isEmpty else { return false }
            state.draining = false
            return true
        }
    }

    /// One transaction for the whole batch; each job inside its own savepoint when there are several.
    private func commit(_ jobs: [Job]) {
        guard !jobs.isEmpty else { return }
        let started = ContinuousClock.now
        defer {
            busyNanoseconds.add((ContinuousClock.now - started).wholeNanoseconds, ordering: .relaxed)
        }
        var outcomes = [Result<Void, any Error>](repeating: .success(()), count: jobs.count)
        var committed: [EventRecord] = []
        do {
            try database.write { connection in
                if jobs.count == 1 {
                    committed = try jobs[0].body(connection)
                    return
                }
                for (index, job) in jobs.enumerated() {
                    try connection.run("SAVEPOINT job")
                    do {
                        committed += try job.body(connection)
                        try connection.run("RELEASE job")
                    } catch {
                        outcomes[index] = .failure(error)
                        try connection.run("ROLLBACK TO job")
                        try connection.run("RELEASE job")
                    }
                }
            }
        } catch {
            if jobs.count > 1 {
                logger.error("history batch failed", metadata: ["db.error": "\(error)", "history.batch": "\(jobs.count)"])
            }
            for job in jobs { job.complete(.failure(error)) }
            return
        }
        commits.add(1, ordering: .relaxed)
        committedWrites.add(outcomes.count { if case .success = $0 { true } else { false } }, ordering: .relaxed)
        if !committed.isEmpty { observer(committed) }
        for (job, outcome) in zip(jobs, outcomes) { job.complete(outcome) }
    }
}

/// Carries one write's value from the writer thread to its continuation (set before it is read, same thread).
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
