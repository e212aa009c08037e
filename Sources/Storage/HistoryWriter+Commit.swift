import Glibc

/// The writer thread's loop: take what is queued, commit it in one transaction, answer, and on a failed commit
/// keep what happened and refuse what has not (see `HistoryWriter`).
extension HistoryWriter {
    /// The thread's loop: sleeps while nothing is queued; ends at `close()` once the queue is empty, or at once
    /// on `abandon()`.
    func run() {
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
            database.truncateWALIfRequested()
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
    func commit(_ batch: [Job]) {
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
    func completed(_ batch: [Job], _ outcomes: [Result<(any Sendable, [EventRecord]), any Error>]) {
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
    func failed(_ batch: [Job], _ error: DatabaseError) {
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
