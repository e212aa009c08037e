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
    }

    /// One queued write and whom to tell.
    struct Job: Sendable {
        var work: Work
        /// Kept and retried when the commit fails for a reason other than its content.
        var keepOnFailure: Bool
        /// Called once, on the writer thread; nil for a kept write whose caller has been answered already.
        var completion: (@Sendable (Result<(any Sendable, [EventRecord]), any Error>) -> Void)?
    }

    private struct State {
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
    private let observer: @Sendable ([EventRecord]) -> Void
    private let logger: Logger
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Most writes committed in one transaction.
    static let maxBatch = 1024
    /// How long the writer waits before trying a failed commit again.
    static let retryDelayMicroseconds: UInt32 = 200_000
    private let committedWrites = Atomic<Int>(0)
    private let commits = Atomic<Int>(0)
    private let busyNanoseconds = Atomic<Int>(0)

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
        let (value, _) = try await submit(.body { db in
            let (value, events) = try body(db)
            return (value, events)
        }, keepOnFailure: keepOnFailure)
        return value as! T
    }

    /// `write` for a caller on a thread of its own (not Swift's cooperative pool): blocks until committed.
    public func writeAndWait<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> (T, [EventRecord])) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<(any Sendable, [EventRecord]), any Error>?>(nil)
        enqueue(Job(work: .body { db in let (value, events) = try body(db); return (value, events) }, keepOnFailure: false) { result in
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

    // MARK: - The writer thread

    private func run() {
        while true {
            let next = state.withLock { state -> [Job]? in
                if state.abandoning || (state.stopping && state.jobs.isEmpty) { return nil }
                if state.jobs.isEmpty {
                    state.sleeping = true
                    return []
                }
                let count = min(state.jobs.count, Self.maxBatch)
                defer { state.jobs.removeFirst(count) }
                return Array(state.jobs.prefix(count))
            }
            guard let batch = next else { break }
            if batch.isEmpty {
                wake.wait()
                continue
            }
            commit(batch)
        }
        // Whatever could not be written is answered (a stop while the disk is full loses only unacknowledged work).
        let left = state.withLock { state in defer { state.jobs.removeAll() }; return state.jobs }
        if !left.isEmpty {
            logger.error("history writes not committed at stop", metadata: ["history.writes": "\(left.count)"])
            for job in left { job.completion?(.failure(DatabaseError.closed)) }
        }
        finished.signal()
    }

    /// Commits `batch` in one transaction, or — when SQLite refuses a write for its content — write by write.
    private func commit(_ batch: [Job]) {
        let started = ContinuousClock.now
        defer { busyNanoseconds.add((ContinuousClock.now - started).wholeNanoseconds, ordering: .relaxed) }
        do {
            let outcomes = try database.write { db in try Self.apply(batch, to: db) }
            commits.add(1, ordering: .relaxed)
            completed(batch, outcomes)
        } catch let error as DatabaseError where !error.isEnvironmental && !error.isClosed && batch.count > 1 {
            logger.error("a batch of history was refused; writing it write by write",
                         metadata: ["db.error": "\(error)", "history.batch": "\(batch.count)"])
            for (index, job) in batch.enumerated() {
                do {
                    let outcomes = try database.write { db in try Self.apply([job], to: db) }
                    commits.add(1, ordering: .relaxed)
                    completed([job], outcomes)
                } catch let error as DatabaseError where error.isEnvironmental || error.isClosed {
                    failed(Array(batch[index...]), error)
                    return
                } catch {
                    logger.error("a history write was refused", metadata: ["db.error": "\(error)"])
                    job.completion?(.failure(error))
                }
            }
        } catch let error as DatabaseError where error.isEnvironmental || error.isClosed {
            failed(batch, error)
        } catch {
            logger.error("a history write was refused", metadata: ["db.error": "\(error)"])
            for job in batch { job.completion?(.failure(error)) }
        }
    }

    /// The batch committed: the observer sees its events in order, then each caller gets its answer.
    private func completed(_ batch: [Job], _ outcomes: [Result<(any Sendable, [EventRecord]), any Error>]) {
        let recovered = state.withLock { state in defer { state.failure = nil }; return state.failure != nil }
        if recovered { logger.notice("history writes succeed again") }
        var events: [EventRecord] = []
        for case .success(let (_, inserted)) in outcomes { events += inserted }
        committedWrites.add(batch.count, ordering: .relaxed)
        if !events.isEmpty { observer(events) }
        for (job, outcome) in zip(batch, outcomes) { job.completion?(outcome) }
    }

    /// SQLite could not commit (disk full, I/O): writes of operations that happened stay queued, first in line,
    /// and are retried after a pause; the others fail. Until a commit succeeds, `checkWritable()` throws.
    private func failed(_ batch: [Job], _ error: DatabaseError) {
        let (first, stopping) = state.withLock { state in
            defer { state.failure = error }
            return (state.failure == nil, state.stopping)
        }
        // Closed, or stopping: nothing will be retried. What happened is lost to history; say how much.
        if error.isClosed || stopping {
            logger.error("history writes not committed at stop", metadata: ["db.error": "\(error)", "history.writes": "\(batch.count)"])
            for job in batch { job.completion?(.failure(HistoryUnavailable(cause: error, tookEffect: job.keepOnFailure))) }
            return
        }
        if first { logger.error("history cannot be written; refusing operations until it can", metadata: ["db.error": "\(error)"]) }
        var kept: [Job] = []
        for var job in batch {
            if job.keepOnFailure {
                job.completion?(.failure(HistoryUnavailable(cause: error, tookEffect: true)))
                job.completion = nil
                kept.append(job)
            } else {
                job.completion?(.failure(HistoryUnavailable(cause: error, tookEffect: false)))
            }
        }
        state.withLock { $0.jobs.insert(contentsOf: kept, at: 0) }
        usleep(Self.retryDelayMicroseconds)
        // Nothing kept to retry with: a write of no consequence tells when SQLite takes writes again.
        if kept.isEmpty {
            do {
                try database.write { db in try db.run("UPDATE schema_migrations SET version = version WHERE version = (SELECT max(version) FROM schema_migrations)") }
                state.withLock { $0.failure = nil }
                logger.notice("history writes succeed again")
            } catch {}
        }
    }

    /// The batch inside its transaction. Consecutive socket writes: each row once, then their events in order.
    /// Other writes: each in a savepoint, so that one that throws is rolled back alone.
    static func apply(_ batch: [Job], to db: Connection) throws -> [Result<(any Sendable, [EventRecord]), any Error>] {
        var outcomes: [Result<(any Sendable, [EventRecord]), any Error>] = []
        outcomes.reserveCapacity(batch.count)
        var run: [SocketWrite] = []
        func flush() throws {
            guard !run.isEmpty else { return }
            for event in try SQLiteHistory.apply(run, to: db) { outcomes.append(.success(((), [event]))) }
            run.removeAll(keepingCapacity: true)
        }
        for job in batch {
            switch job.work {
            case .socket(let write):
                run.append(write)
            case .body(let body):
                try flush()
                try db.run("SAVEPOINT job")
                do {
                    let value = try body(db)
                    try db.run("RELEASE job")
                    outcomes.append(.success(value))
                } catch let error as DatabaseError where error.isEnvironmental || error.isClosed {
                    throw error  // not this write's fault: the whole batch fails
                } catch {
                    try db.run("ROLLBACK TO job")
                    try db.run("RELEASE job")
                    outcomes.append(.failure(error))
                }
            }
        }
        try flush()
        return outcomes
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

/// A thread of its own (never Swift's cooperative pool, never an HTTP thread) for the writer's loop.
enum WriterThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func spawn(_ body: @escaping () -> Void) {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let code = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        precondition(code == 0, "pthread_create failed: \(code)")
        pthread_detach(thread)
    }
}
