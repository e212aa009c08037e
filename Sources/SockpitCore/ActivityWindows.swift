public import Storage
import Synchronization

/// Rolling per-second counts of the last hour of history, kept in memory so that the stats view never scans
/// the events table: seeded from history at start, then fed every committed event by the history writer.
public final class ActivityWindows: Sendable {
    /// Sums over one window.
    public struct Totals: Sendable, Equatable {
        /// Events recorded (socket operations and probe events).
        public var operations: Int64 = 0
        /// Of which failed.
        public var errors: Int64 = 0
        /// Of which timed out.
        public var timeouts: Int64 = 0
        /// Payload bytes of sends.
        public var bytesSent: Int64 = 0
        /// Payload bytes of receives.
        public var bytesReceived: Int64 = 0
    }

    private struct State {
        /// One slot per second of the last hour, indexed by `second % span`.
        var slots: [SecondActivity]
        var bytesSent: Int64 = 0
        var bytesReceived: Int64 = 0
    }

    /// Seconds kept.
    static let span: Int64 = 3600
    private let state: Mutex<State>

    /// Creates empty windows.
    public init() {
        state = Mutex(State(slots: Array(repeating: SecondActivity(second: -1), count: Int(Self.span))))
    }

    /// Loads the last hour and the all-time byte totals from history.
    public func seed(from repository: some ActivityRepository, now: Int64) async throws {
        let seconds = try await repository.activity(since: now - Self.span * 1_000_000)
        let totals = try await repository.byteTotals()
        state.withLock { state in
            for activity in seconds { Self.add(activity, to: &state) }
            state.bytesSent += totals.sent
            state.bytesReceived += totals.received
        }
    }

    /// Counts committed events (writer thread).
    public func record(_ events: [Event]) {
        state.withLock { state in
            for event in events {
                var activity = SecondActivity(second: event.at / 1_000_000, operations: 1)
                switch event.outcome {
                case .error: activity.errors = 1
                case .timeout: activity.timeouts = 1
                case .ok: break
                }
                (activity.bytesSent, activity.bytesReceived) = event.payload
                Self.add(activity, to: &state)
                state.bytesSent += activity.bytesSent
                state.bytesReceived += activity.bytesReceived
            }
        }
    }

    /// Sums over the last `seconds` seconds up to `now` (unix µs), and the all-time byte totals.
    public func totals(lastSeconds seconds: Int64, now: Int64) -> Totals {
        let newest = now / 1_000_000
        let oldest = newest - min(seconds, Self.span) + 1
        return state.withLock { state in
            var totals = Totals()
            for slot in state.slots where slot.second >= oldest && slot.second <= newest {
                totals.operations += slot.operations
                totals.errors += slot.errors
                totals.timeouts += slot.timeouts
                totals.bytesSent += slot.bytesSent
                totals.bytesReceived += slot.bytesReceived
            }
            return totals
        }
    }

    /// Payload bytes over every session in history.
    public func byteTotals() -> (sent: Int64, received: Int64) {
        state.withLock { ($0.bytesSent, $0.bytesReceived) }
    }

    private static func add(_ activity: SecondActivity, to state: inout State) {
        let index = Int((activity.second % span + span) % span)
        if state.slots[index].second != activity.second {
            // An older second is in this slot: it has left the window.
            guard activity.second > state.slots[index].second else { return }
            state.slots[index] = SecondActivity(second: activity.second)
        }
        state.slots[index].operations += activity.operations
        state.slots[index].errors += activity.errors
        state.slots[index].timeouts += activity.timeouts
        state.slots[index].bytesSent += activity.bytesSent
        state.slots[index].bytesReceived += activity.bytesReceived
    }
}
