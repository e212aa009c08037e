import Storage
import Synchronization

/// One live subscriber of the `EventHub`: a bounded queue of matching events and at most one waiting reader.
public final class EventSubscription: Sendable {
    /// What `next()` hands out.
    public enum Delivery: Sendable, Equatable {
        /// Events in ascending id order.
        case events([Event])
        /// Nothing happened for a heartbeat interval.
        case heartbeat
        /// The subscription is over; nothing follows.
        case ended(EndReason)
    }

    /// Why a subscription ended.
    public enum EndReason: String, Sendable, Equatable {
        /// The reader fell `bufferLimit` events behind; resume from the last id received.
        case slowConsumer = "slow-consumer"
        /// The server is stopping.
        case serverShutdown = "server-shutdown"
        /// The stream reached its longest allowed life; resume from the last id received.
        case maxDuration = "max-duration"
        /// The reader cancelled (its client went away).
        case cancelled
    }

    private struct State {
        var buffer: [Event] = []
        var waiter: CheckedContinuation<Delivery, Never>?
        var end: EndReason?
    }

    /// The events this subscriber wants.
    public let filter: EventFilter
    private let limit: Int
    private weak let hub: EventHub?
    private let state = Mutex(State())

    init(filter: EventFilter, limit: Int, hub: EventHub) {
        self.filter = filter
        self.limit = limit
        self.hub = hub
    }

    deinit { hub?.remove(self) }

    /// The next events, a heartbeat, or the end. One reader at a time; returns `.ended(.cancelled)` when the
    /// calling task is cancelled.
    public func next() async -> Delivery {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Delivery, Never>) in
                let ready: Delivery? = state.withLock { state in
                    if !state.buffer.isEmpty {
                        defer { state.buffer.removeAll(keepingCapacity: true) }
                        return .events(state.buffer)
                    }
                    if let end = state.end { return .ended(end) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            end(.cancelled)
        }
    }

    /// Detaches from the hub; a pending `next()` returns `.ended(.cancelled)`.
    public func cancel() { end(.cancelled) }

    /// Queues the matching ones of `events` (hub, writer thread).
    func offer(_ events: [Event]) {
        var matching = events.filter(filter.matches)
        guard !matching.isEmpty else { return }
        let (waiter, overflowed): (CheckedContinuation<Delivery, Never>?, Bool) = state.withLock { state in
            guard state.end == nil else { return (nil, false) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, false)
            }
            state.buffer += matching
            matching = []
            guard state.buffer.count > limit else { return (nil, false) }
            // Keep what fits; the reader gets it, then the end, and resumes from history.
            state.buffer.removeLast(state.buffer.count - limit)
            state.end = .slowConsumer
            return (nil, true)
        }
        waiter?.resume(returning: .events(matching))
        if overflowed { hub?.remove(self) }
    }

    /// Wakes an idle reader with a heartbeat (hub ticker).
    func heartbeat() {
        let waiter = state.withLock { state -> CheckedContinuation<Delivery, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: .heartbeat)
    }

    /// Ends the subscription; what is buffered is still delivered first.
    public func end(_ reason: EndReason) {
        let waiter = state.withLock { state -> CheckedContinuation<Delivery, Never>? in
            if state.end == nil { state.end = reason }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: .ended(reason))
        hub?.remove(self)
    }
}
