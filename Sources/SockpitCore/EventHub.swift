public import Storage
import Synchronization

/// Which events a live subscriber wants: the same filters as the history list, all optional.
public struct EventFilter: Sendable, Equatable {
    /// Only this socket's events.
    public var socketID: String?
    /// Only this probe's events.
    public var probeID: String?
    /// Only this operation.
    public var op: String?
    /// Only this outcome.
    public var outcome: Event.Outcome?

    /// Creates a filter; nil fields match everything.
    public init(socketID: String? = nil, probeID: String? = nil, op: String? = nil, outcome: Event.Outcome? = nil) {
        self.socketID = socketID
        self.probeID = probeID
        self.op = op
        self.outcome = outcome
    }

    /// Whether `event` passes every set field.
    public func matches(_ event: Event) -> Bool {
        (socketID == nil || event.socketID == socketID) && (probeID == nil || event.probeID == probeID)
            && (op == nil || event.op == op) && (outcome == nil || event.outcome == outcome)
    }

    /// The history query with the same filters.
    public func query(after: Int64?, limit: Int) -> EventQuery {
        var query = EventQuery(socketID: socketID, probeID: probeID, op: op, outcome: outcome?.rawValue, limit: limit, order: .oldestFirst)
        query.after = after
        return query
    }
}

/// Fans committed events out to live subscribers (event streams).
///
/// Events arrive from the history writer in id order, after they are durable. Each subscriber has a bounded
/// buffer: one that falls `bufferLimit` events behind is ended with `slowConsumer` instead of slowing the
/// writer or growing memory — its client resumes from the last id it got, and history fills the gap. An
/// idle subscriber costs nothing but one wake-up per heartbeat interval.
public final class EventHub: Sendable {
    /// Most events a subscriber may have waiting before it is ended as too slow.
    public let bufferLimit: Int
    /// How often an idle subscriber is woken to send a heartbeat.
    public let heartbeatInterval: Duration
    private let subscribers = Mutex<[ObjectIdentifier: EventSubscription]>([:])
    /// Streams admitted and not subscribed yet (`admit`); locked inside `subscribers` when both are taken.
    private let admitted = Mutex<Int>(0)
    private let lastID = Atomic<Int64>(0)
    private let ended = Atomic<Bool>(false)
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    /// Creates a hub; call `start()` to begin heartbeats.
    public init(bufferLimit: Int = 10_000, heartbeatInterval: Duration = .seconds(15)) {
        self.bufferLimit = bufferLimit
        self.heartbeatInterval = heartbeatInterval
    }

    /// The id of the newest event published so far (0 before any).
    public var lastPublishedID: Int64 { lastID.load(ordering: .acquiring) }

    /// How many subscribers are attached.
    public var subscriberCount: Int { subscribers.withLock { $0.count } }

    /// Starts the heartbeat ticker (one task for all subscribers).
    public func start() {
        let interval = heartbeatInterval
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled, let self else { return }
                for subscriber in self.snapshot() { subscriber.heartbeat() }
            }
        }
        ticker.withLock { $0 = task }
    }

    /// Hands committed events (ascending ids) to every matching subscriber. Called on the writer's thread.
    public func publish(_ events: [Event]) {
        guard let last = events.last else { return }
        lastID.store(last.id, ordering: .releasing)
        for subscriber in snapshot() { subscriber.offer(events) }
    }

    /// Takes one of `limit` stream slots (subscribers plus streams admitted and not subscribed yet), or nil
    /// when none is free. Checked and taken under one lock, so concurrent requests cannot overshoot the limit.
    public func admit(limit: Int) -> StreamAdmission? {
        subscribers.withLock { subscribers in
            admitted.withLock { admitted in
                guard subscribers.count + admitted < limit else { return nil }
                admitted += 1
                return StreamAdmission(hub: self)
            }
        }
    }

    /// Streams open or admitted: what `admit` counts against its limit.
    public var streamCount: Int {
        subscribers.withLock { subscribers in admitted.withLock { subscribers.count + $0 } }
    }

    /// Gives back an admitted slot that never became a subscriber.
    func release(_ admission: StreamAdmission) {
        admitted.withLock { $0 -= 1 }
    }

    /// Attaches a subscriber; it receives every matching event published from now on. With an `admission`, the
    /// slot it holds becomes the subscriber's (the count of streams does not move).
    public func subscribe(_ filter: EventFilter, admission: StreamAdmission? = nil) -> EventSubscription {
        let subscription = EventSubscription(filter: filter, limit: bufferLimit, hub: self)
        if ended.load(ordering: .acquiring) {
            subscription.end(.serverShutdown)
            return subscription
        }
        subscribers.withLock { subscribers in
            subscribers[ObjectIdentifier(subscription)] = subscription
            if let admission, admission.take() { admitted.withLock { $0 -= 1 } }
        }
        return subscription
    }

    /// Whether the server is stopping (``shutdown()`` was called): streams of their own end too.
    public var isShutDown: Bool { ended.load(ordering: .acquiring) }

    /// Ends every subscription (server stopping) and the heartbeats.
    public func shutdown() {
        ended.store(true, ordering: .releasing)
        ticker.withLock { $0?.cancel() }
        let all = subscribers.withLock { subscribers in
            defer { subscribers.removeAll() }
            return Array(subscribers.values)
        }
        for subscriber in all { subscriber.end(.serverShutdown) }
    }

    func remove(_ subscription: EventSubscription) {
        _ = subscribers.withLock { $0.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    private func snapshot() -> [EventSubscription] {
        subscribers.withLock { Array($0.values) }
    }
}

/// A stream slot taken by `EventHub.admit`: it becomes the stream's subscription, or is given back when the
/// stream never subscribes (the client left before its body was read).
public final class StreamAdmission: Sendable {
    private let hub: EventHub
    private let held = Atomic<Bool>(true)

    init(hub: EventHub) { self.hub = hub }

    /// Whether the slot was still held; it is not any more.
    func take() -> Bool { held.exchange(false, ordering: .acquiringAndReleasing) }

    deinit {
        if take() { hub.release(self) }
    }
}
