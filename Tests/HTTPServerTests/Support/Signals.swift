import Synchronization

/// A one-shot event: every waiter, past and future, continues once it is opened.
///
/// Waits end with `CancellationError` when their task is cancelled (as Swift Testing's time limit does),
/// so a test whose event never comes fails instead of hanging the whole run.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
    }

    private let state = Mutex(State())

    /// Releases every waiter; later waits return at once.
    func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether `open()` was called.
    var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Waits until the gate is open.
    func wait() async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.isOpen { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }
}

/// Hands values from handlers (running inside the server) to the test, in the order they were posted.
final class Mailbox<Value: Sendable>: Sendable {
    private struct State {
        var values: [Value] = []
        var nextID = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<Value, any Error>)] = []
    }

    private let state = Mutex(State())

    /// Delivers `value` to the oldest waiter, or keeps it for the next `receive()`.
    func post(_ value: Value) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            if state.waiters.isEmpty {
                state.values.append(value)
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        waiter?.resume(returning: value)
    }

    /// The oldest value posted, waiting for one if there is none yet; throws `CancellationError` if cancelled.
    func receive() async throws -> Value {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let outcome: Result<Value, any Error>? = state.withLock { state in
                    if !state.values.isEmpty { return .success(state.values.removeFirst()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// A counter shared between handlers and the test.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)

    /// Adds one and returns the new value.
    @discardableResult
    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }

    /// The current value.
    var value: Int { count.load(ordering: .relaxed) }
}
