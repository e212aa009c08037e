import SocketKit
import Storage
import SystemPackage

/// What one operation did: its value for the caller, the result and byte count for the history, the
/// event outcome, and the change to the session row.
struct Step<T: Sendable>: Sendable {
    var value: T
    var result: Detail?
    var bytes: Int64?
    var outcome = "ok"
    var change: @Sendable (inout SocketRecord) -> Void = { _ in }
}

/// A failure after part of the operation took effect (a stream send that timed out after some of its bytes): what
/// did happen goes to the session row and the event, and the client hears the failure.
struct PartialFailure: Error {
    var error: SockpitError
    var result: Detail?
    var bytes: Int64?
    var change: @Sendable (inout SocketRecord) -> Void
}

extension SocketRegistry {
    /// The live socket, or why it cannot be used: 404 unknown, 409 closed.
    func live(_ id: String) async throws -> ManagedSocket {
        if let managed = open.withLock({ $0[id] }) { return managed }
        guard let record = try await repository.find(id: id) else { throw Self.notFound(id) }
        throw SockpitError(.conflict, "socket \(id) is \(record.state): it was closed (\(record.closeReason ?? "unknown"))",
                           state: record.state)
    }

    /// Runs one operation on one socket, in order with the socket's other calls, and records it (success or
    /// failure) before returning: an answered operation is always in history.
    func perform<T: Sendable>(
        _ id: String, op: String, args: Detail?,
        _ body: (ManagedSocket) async throws -> Step<T>
    ) async throws -> (T, SocketRecord) {
        let managed = try await live(id)
        return try await managed.lock.withLock {
            try SockpitError.checkWritable(repository, operation: op)
            inFlight.add(1, ordering: .relaxed)
            defer { inFlight.subtract(1, ordering: .relaxed) }
            let started = UnixTime.nowMicros()
            let done: Step<T>
            do {
                done = try await body(managed)
            } catch let failure where failure is SockpitError || failure is PartialFailure {
                let partial = failure as? PartialFailure
                var error = partial?.error ?? failure as! SockpitError
                if managed.closing, Self.waits.contains(op) { error = Self.closedWhileWaiting(id, op: op) }
                if error.kind == .conflict, error.state == nil { error.state = managed.snapshot().state }
                let ended = UnixTime.nowMicros()
                let event = EventRecord(
                    at: started, socketID: id, op: op, outcome: error.kind == .timeout ? "timeout" : "error",
                    errno: error.errno, errorMessage: error.detail, durationUs: ended - started, args: args,
                    result: partial?.result, bytes: partial?.bytes)
                let previous = managed.snapshot()
                let current = partial.map { partial in
                    managed.update { record in
                        partial.change(&record)
                        record.updatedAt = ended
                    }
                } ?? previous
                do {
                    _ = try await repository.record(current, previous: previous, event: event)
                } catch is HistoryUnavailable {
                    // The failure's event is queued until SQLite takes it; the client hears of the failure itself.
                }
                throw error
            }
            let ended = UnixTime.nowMicros()
            let previous = managed.snapshot()
            let record = managed.update { record in
                done.change(&record)
                record.updatedAt = ended
            }
            let event = EventRecord(at: started, socketID: id, op: op, outcome: done.outcome, durationUs: ended - started,
                                    args: args, result: done.result, bytes: done.bytes)
            try await SockpitError.recording(op) {
                _ = try await repository.record(record, previous: previous, event: event)
            }
            return (done.value, record)
        }
    }

    /// The operations that wait on the kernel, which a close ends early.
    static let waits: Set = ["receive", "accept", "connect"]

    static func closedWhileWaiting(_ id: String, op: String) -> SockpitError {
        SockpitError(.conflict, "socket \(id) was closed (DELETE) while this \(op) waited", state: SocketState.closed.rawValue)
    }

    static func ms(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// A kernel failure of one operation, with the errnos that mean "not valid in this state" for it.
    static func classify(_ error: Errno, op: String, conflicts: Set<Errno>, detail: String? = nil) -> SockpitError {
        if conflicts.contains(error) {
            return SockpitError(.conflict, "\(detail ?? op) failed: \(error.message) (\(error.name))", errno: error.name)
        }
        switch error {
        case .addressNotAvailable:
            return SockpitError(.invalid, "\(op) failed: \(error.message) (\(error.name))", field: "address", errno: error.name)
        case .noSuchFileOrDirectory:
            // A Unix name with no socket behind it: the peer is not there, like a refused connection.
            return SockpitError(.network, "\(op) failed: no socket at that name (\(error.name))", errno: error.name)
        case .messageTooLong:
            return SockpitError(.tooLarge, "\(op) failed: \(error.message) (\(error.name))", errno: error.name)
        case .socketNotConnected, .addressRequired, .socketIsConnected:
            return SockpitError(.conflict, "\(op) failed: \(error.message) (\(error.name))", errno: error.name)
        default:
            return SockpitError.system(error, during: op)
        }
    }
}
