import Dispatch
import Glibc
public import Logging
import Synchronization

/// Every write to the history goes through here: one thread of its own takes every write queued since its
/// last commit and commits them in one SQLite transaction (group commit). A caller is answered only after the
/// transaction holding its write committed; event ids come from SQLite, and the observer sees each committed
/// event once, in id order, before the callers of that batch are answered.
///
/// Why a batch: committing every operation alone was measured at ~45 % of the server's CPU under the lifecycle
/// load (a WAL frame for every page of every B-tree touched, WAL locks). In a batch, a socket's row is written
/// once however many of its operations the batch holds.
///
/// When a commit fails for a reason other than the writes' content (a full disk, an I/O error), the writer
/// keeps the writes that record operations that already happened (`keepOnFailure`), tells their callers so
/// (`HistoryUnavailable.tookEffect`), and retries until SQLite takes them; meanwhile `checkWritable()` throws,
/// so that callers refuse new operations before acting on the kernel. A write SQLite refuses for its content (a
/// constraint, an SQL error) fails alone: the batch is applied again write by write.
public final class HistoryWriter: Sendable {
    /// What a job does inside the batch's transaction.
    enum Work: Sendable {
        /// A socket operation: its row (coalesced with the batch's other writes to it) and its event.
        case socket(SocketWrite)
        /// Any other write, in a savepoint of its own: what it returns and the events it inserted.
        case body(@Sendable (Connection) throws -> (any Sendable, [EventRecord]))

        /// A typed write as a job's work (its value type erased until the caller casts it back).
        static func erasing<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> (T, [EventRecord])) -> Work {
            .body { db in
                let (value, events) = try body(db)
                return (value, events)
            }
        }
    }

    /// One queued write and whom to tell.
    struct Job: Sendable {
        var work: Work
        /// Kept and retried when the commit fails for a reason other than its content.
        var keepOnFailure: Bool
        /// Called once, on the writer thread; nil for a kept write whose caller has been answered already.
        var completion: (@Sendable (Result<(any Sendable, [EventRecord]), any Error>) -> Void)?
    }

    struct State {
        var jobs: [Job] = []
        /// Why the last commit failed; nil once one succeeds.
        var failure: DatabaseError?
        /// The writer thread waits on `wake`.
        var sleeping = false
        var stopping = false
        /// Stop without writing what is queued (a simulated crash).
        var abandoning = false
        var running = false
    }

    /// The database the writes go to.
    public let database: Database
    let observer: @Sendable ([EventRecord]) -> Void
    let logger: Logger
    let state = Mutex(State())
    let wake = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    /// Most writes committed in one transaction.
    static let maxBatch = 1024
    /// How long the writer waits before trying a failed commit again.
    static let retryDelayMicroseconds: UInt32 = 200_000
    let committedWrites = Atomic<Int>(0)
    let commits = Atomic<Int>(0)
    let busyNanoseconds = Atomic<Int>(0)

    /// Totals since start: writes committed, SQLite transactions they took, and time spent in them.
    public var statistics: (writes: Int, commits: Int, busy: Duration) {
        (committedWrites.load(ordering: .relaxed), commits.load(ordering: .relaxed),
         .nanoseconds(busyNanoseconds.load(ordering: .relaxed)))
    }

    /// Creates the writer of `database`; `start()` takes the database's lock and starts the thread. `observer`
    /// receives every committed event in id order on the writer thread — keep it short, and never write from it.
    public init(database: Database, logger: Logger, observer: @escaping @Sendable ([EventRecord]) -> Void = { _ in }) {
        self.database = database
        self.logger = logger
        self.observer = observer
    }

    /// Claims the database (`Database.lockForWriting`: one server per database, no history left by an older
    /// version) and starts the writer thread. Idempotent.
    public func start() throws {
        let start = try state.withLock { state throws -> Bool in
            guard !state.running else { return false }
            guard !state.stopping else { throw DatabaseError.closed }
            try database.lockForWriting()
            state.running = true
            return true
        }
        guard start else { return }
        WriterThread.spawn { [self] in run() }
    }

    // MARK: - Queueing

    /// Records one socket operation; returns its event with its id once committed. The operation has
    /// happened: if the commit fails, the write stays queued and `HistoryUnavailable(tookEffect: true)` is thrown.
    public func record(_ write: SocketWrite) async throws -> EventRecord {
        let (_, events) = try await submit(.socket(write), keepOnFailure: true)
        return events[0]
    }

    /// Runs `body` in the next batch's transaction (in a savepoint of its own: if it throws, nothing of it is
    /// stored and the error is rethrown). `body` returns its value and the events it inserted, which are observed
    /// in order after the commit. With `keepOnFailure`, a failed commit keeps it queued (it records something that
    /// already happened); otherwise the caller gets the failure and nothing is kept.
    public func write<T: Sendable>(keepOnFailure: Bool = false,
                                   _ body: @escaping @Sendable (Connection) throws -> (T, [EventRecord])) async throws -> T {
        let (value, _) = try await submit(.erasing(body), keepOnFailure: keepOnFailure)
        return value as! T
    }

    /// Queues `body` like `write` and returns at once: the caller goes on while it commits, and its own later
    /// writes queue behind it (they commit in the same batch or a later one). `QueuedWrite.value()` waits for it.
    public func queue<T: Sendable>(keepOnFailure: Bool = false,
                                   _ body: @escaping @Sendable (Connection) throws -> (T, [EventRecord])) -> QueuedWrite<T> {
        let queued = QueuedWrite<T>()
        enqueue(Job(work: .erasing(body), keepOnFailure: keepOnFailure) { result in queued.complete(result.map { $0.0 as! T }) })
        return queued
    }

    /// `write` for a caller on a thread of its own (not Swift's cooperative pool): blocks until committed.
    public func writeAndWait<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> (T, [EventRecord])) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<(any Sendable, [EventRecord]), any Error>?>(nil)
        enqueue(Job(work: .erasing(body), keepOnFailure: false) { result in
            outcome.withLock { $0 = result }
            done.signal()
        })
        done.wait()
        return try outcome.withLock { $0! }.get().0 as! T
    }

    /// Throws `HistoryUnavailable(tookEffect: false)` while the last commit failed: a caller about to act on
    /// the kernel checks first, so that nothing happens that history could not record.
    public func checkWritable() throws {
        if let failure = state.withLock({ $0.failure }) { throw HistoryUnavailable(cause: failure, tookEffect: false) }
    }

    private func submit(_ work: Work, keepOnFailure: Bool) async throws -> (any Sendable, [EventRecord]) {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(Job(work: work, keepOnFailure: keepOnFailure) { continuation.resume(with: $0) })
        }
    }

    private func enqueue(_ job: Job) {
        do { try start() } catch {
            job.completion?(.failure(error))
            return
        }
        let (signal, refused) = state.withLock { state -> (Bool, Bool) in
            guard state.running, !state.stopping else { return (false, true) }
            state.jobs.append(job)
            defer { state.sleeping = false }
            return (state.sleeping, false)
        }
        if refused { job.completion?(.failure(DatabaseError.closed)) }
        if signal { wake.signal() }
    }

    // MARK: - Stopping

    /// Commits what is queued and stops the thread (the database's lock goes with `Database.close()`).
    public func close() {
        stop(abandoning: false)
    }

    /// Stops as a killed process would: nothing more is written. For crash simulations.
    public func abandon() {
        stop(abandoning: true)
    }

    private func stop(abandoning: Bool) {
        let wasRunning = state.withLock { state in
            defer {
                state.stopping = true
                if abandoning { state.abandoning = true }
            }
            return state.running && !state.stopping
        }
        guard wasRunning else { return }
        wake.signal()
        finished.wait()
    }
}

/// A write queued with `HistoryWriter.queue`: its value once committed, or why it was not.
public final class QueuedWrite<T: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<T, any Error>?)
        case done(Result<T, any Error>)
    }

    private let state = Mutex<State>(.waiting(nil))

    init() {}

    /// Called once, on the writer thread.
    func complete(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard case .waiting(let waiter) = state else { return nil }
            state = .done(result)
            return waiter
        }
        waiter?.resume(with: result)
    }

    /// Waits until the write committed (or failed); by one waiter at a time.
    public func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state -> Result<T, any Error>? in
                switch state {
                case .done(let result): return result
                case .waiting: state = .waiting(continuation); return nil
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
