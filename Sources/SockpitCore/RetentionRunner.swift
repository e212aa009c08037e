import Dispatch
import Logging
import Storage
import Synchronization

/// Settings of history retention (`--retention-days`, `--retention-max-events`, `--retention-interval`).
public struct RetentionSettings: Sendable, Equatable {
    /// Events older than this are pruned; nil keeps them forever.
    public var maxAge: Duration?
    /// At most this many events are kept; nil: no limit.
    public var maxEvents: Int?
    /// Time between passes.
    public var interval: Duration
    /// Events deleted per transaction.
    public var batchSize: Int
    /// Pause between two batches of one pass, so that history writes are never held up for long.
    public var pause: Duration

    /// Creates settings; the defaults are the service's embedded defaults (30 days, 5,000,000 events, every minute).
    public init(maxAge: Duration? = .seconds(30 * 86_400), maxEvents: Int? = 5_000_000, interval: Duration = .seconds(60),
                batchSize: Int = 500, pause: Duration = .milliseconds(10)) {
        self.maxAge = maxAge
        self.maxEvents = maxEvents
        self.interval = interval
        self.batchSize = batchSize
        self.pause = pause
    }

    /// Retention turned off.
    public static let keepEverything = RetentionSettings(maxAge: nil, maxEvents: nil)
}

/// Prunes history in the background: one pass per interval, each a series of small transactions with pauses
/// between them. Open sockets, running probes and their events are never pruned (see `RetentionPolicy`).
public final class RetentionRunner: Sendable {
    /// What one pass removed.
    public struct PassResult: Sendable, Equatable {
        /// Events deleted.
        public var events = 0
        /// Closed socket sessions deleted (their last events gone).
        public var sockets = 0
        /// Finished probes deleted, with their results.
        public var probes = 0
        /// Transactions the pass took.
        public var batches = 0
    }

    /// The limits and pacing in force.
    public let settings: RetentionSettings
    private let history: SQLiteHistory
    private let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let queue = DispatchQueue(label: "sockpit.retention", qos: .utility)

    init(settings: RetentionSettings, history: SQLiteHistory, logger: Logger) {
        self.settings = settings
        self.history = history
        self.logger = logger
    }

    /// Whether any limit is set.
    public var isEnabled: Bool { settings.maxAge != nil || settings.maxEvents != nil }

    /// Runs one whole pass now.
    /// Runs one whole pass now (`now` is the time the age limit counts from, unix µs).
    @discardableResult
    public func runPass(now: Int64 = UnixTime.nowMicros()) async throws -> PassResult {
        var result = PassResult()
        guard isEnabled else { return result }
        let policy = RetentionPolicy(maxAge: settings.maxAge, maxEvents: settings.maxEvents, batchSize: settings.batchSize)
        var pass = try await offPool { [history] in try history.beginPass(policy, now: now) }
        while !pass.isFinished, !Task.isCancelled {
            let current = pass
            let (batch, next) = try await offPool { [history] in
                var advancing = current
                let batch = try history.pruneBatch(&advancing)
                return (batch, advancing)
            }
            pass = next
            result.batches += 1
            result.events += batch.deletedEvents
            result.sockets += batch.deletedSockets
            result.probes += batch.deletedProbes
            if batch.nextAfter == nil { break }
            try? await Task.sleep(for: settings.pause)
        }
        if result.events > 0 {
            logger.info("history pruned", metadata: [
                "retention.events": "\(result.events)", "retention.sockets": "\(result.sockets)",
                "retention.probes": "\(result.probes)", "retention.batches": "\(result.batches)",
            ])
        }
        return result
    }

    /// Runs a blocking SQLite call on the retention queue, not on Swift's cooperative threads (two on this
    /// machine): a batch holds the database for a few milliseconds, which requests must not wait behind.
    private func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Starts the periodic passes (the first one right away).
    func start() {
        guard isEnabled else { return }
        let interval = settings.interval
        let started = Task.detached { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                do { try await self.runPass() } catch {
                    self.logger.error("history retention pass failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        task.withLock { $0 = started }
    }

    /// Stops the passes (a batch in progress completes; the pass stops after it).
    func stop() async {
        let running = task.withLock { state in defer { state = nil }; return state }
        running?.cancel()
        await running?.value
    }
}
