import CLinux
import Glibc
import Synchronization
public import SystemPackage

/// What a socket is waited for.
public enum Interest: Sendable {
    case readable
    case writable
    /// Urgent (out-of-band) data is waiting (EPOLLPRI).
    case urgent

    var events: UInt32 {
        switch self {
        case .readable: UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue)
        case .writable: UInt32(EPOLLOUT.rawValue)
        case .urgent: UInt32(EPOLLPRI.rawValue) | UInt32(EPOLLRDHUP.rawValue)
        }
    }
}

/// How a wait ended.
public enum Readiness: Sendable, Equatable {
    /// The descriptor is ready (or in error / hung up: the next syscall says which).
    case ready
    /// The deadline passed first.
    case timedOut
}

/// Readiness waiting for non-blocking sockets on one epoll thread, with deadlines (STYLE.md rule 10).
///
/// A waiting task holds no thread: it is parked on a continuation that the reactor thread resumes when
/// epoll reports the descriptor, when its deadline passes, or when the task is cancelled. Each wait is a
/// one-shot registration removed when it ends, so a descriptor is never left in the epoll set.
public final class Reactor: Sendable {
    private struct Waiter {
        let fd: CInt
        let events: UInt32
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Readiness, any Error>
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var nextToken: UInt64 = 1
        var stopped = false
        /// Tokens cancelled before their registration happened.
        var cancelledEarly: Set<UInt64> = []
    }

    private let epollFD: CInt
    private let wakeFD: CInt
    private let state = Mutex(State())
    private let clock = ContinuousClock()

    /// The process-wide reactor, started on first use.
    public static let shared: Reactor = {
        do { return try Reactor() } catch { fatalError("cannot create the epoll reactor: \(error)") }
    }()

    /// Creates a reactor and starts its thread.
    public init() throws(Errno) {
        epollFD = try syscall { epoll_create1(CInt(EPOLL_CLOEXEC)) }
        wakeFD = try syscall { eventfd(0, CInt(EFD_NONBLOCK | EFD_CLOEXEC)) }
        var event = epoll_event()
        event.events = UInt32(EPOLLIN.rawValue)
        event.data.u64 = 0
        _ = try syscall { epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) }
        try DetachedThread.start { self.loop() }
    }

    /// Waits until `fd` is ready for `interest` or `deadline` passes. Throws `CancellationError` if the
    /// task is cancelled, or the `Errno` of a failed registration (e.g. EBADF, EEXIST when the descriptor
    /// already has a wait pending).
    /// Internal: a caller outside SocketKit waits on a `Socket` (`Socket.wait(for:until:)`), which keeps the descriptor
    /// lent for the whole wait.
    func wait(for interest: Interest, on fd: CInt, until deadline: ContinuousClock.Instant) async throws -> Readiness {
        try Task.checkCancellation()
        // Already past: no look here. A caller that retries its operation on `.ready` would otherwise spin when
        // the descriptor is ready but the operation still yields nothing (e.g. urgent data already read inline).
        if clock.now >= deadline { return .timedOut }
        let token = state.withLock { state -> UInt64 in
            defer { state.nextToken += 1 }
            return state.nextToken
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Readiness, any Error>) in
                let registered: (any Error)? = state.withLock { state in
                    guard !state.stopped else { return Errno.badFileDescriptor }
                    if state.cancelledEarly.remove(token) != nil { return CancellationError() }
                    var event = epoll_event()
                    event.events = interest.events | UInt32(EPOLLONESHOT.rawValue)
                    event.data.u64 = token
                    if epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == -1 { return Errno(rawValue: Glibc.errno) }
                    state.waiters[token] = Waiter(fd: fd, events: interest.events, deadline: deadline, continuation: continuation)
                    return nil
                }
                if let registered {
                    continuation.resume(throwing: registered)
                } else {
                    wake()
                }
            }
        } onCancel: {
            let registered = state.withLock { state in
                if state.waiters[token] != nil { return true }
                state.cancelledEarly.insert(token)
                return false
            }
            if registered { finish(token: token, with: .failure(CancellationError())) }
        }
    }

    /// Number of waits pending now.
    public var pendingCount: Int { state.withLock { $0.waiters.count } }

    private func finish(token: UInt64, with result: Result<Readiness, any Error>) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiters.removeValue(forKey: token) else { return nil }
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, waiter.fd, nil)
            return waiter
        }
        waiter?.continuation.resume(with: result)
    }

    /// Whether `fd` is ready for `interest` right now (poll(2) without waiting): a caller whose operation is
    /// likely already complete (a loopback connect) looks first and skips the wait and its thread hand-offs.
    static func isReady(_ fd: CInt, for interest: Interest) -> Bool {
        isReady(fd, interest.events)
    }

    /// Whether what was asked for (readable, writable, urgent; not merely hung up or in error) is there right
    /// now (poll(2) without waiting). A wait that expires gets this one last look, and only once: the caller's
    /// next wait, past its deadline, times out at once.
    private static func isReady(_ fd: CInt, _ events: UInt32) -> Bool {
        var pollEvents: Int16 = 0
        if events & UInt32(EPOLLIN.rawValue) != 0 { pollEvents |= Int16(POLLIN) }
        if events & UInt32(EPOLLOUT.rawValue) != 0 { pollEvents |= Int16(POLLOUT) }
        if events & UInt32(EPOLLPRI.rawValue) != 0 { pollEvents |= Int16(POLLPRI) }
        var descriptor = pollfd(fd: fd, events: pollEvents, revents: 0)
        return poll(&descriptor, 1, 0) == 1 && descriptor.revents & pollEvents != 0
    }

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    private func loop() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let now = clock.now
            let nearest = state.withLock { $0.waiters.values.map(\.deadline).min() }
            var timeout: CInt = -1
            if let nearest {
                let remaining = nearest - now
                let ms = remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
                timeout = CInt(clamping: max(0, ms + (remaining > .zero ? 1 : 0)))
            }
            let count = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, CInt($0.count), timeout) }
            if count > 0 {
                for index in 0..<Int(count) {
                    let token = events[index].data.u64
                    if token == 0 {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeFD, &value, 8)
                    } else {
                        finish(token: token, with: .success(.ready))
                    }
                }
            }
            let expired = state.withLock { state in
                state.waiters.filter { $0.value.deadline <= clock.now }.map { ($0.key, $0.value.fd, $0.value.events) }
            }
            // Readiness that arrived with the deadline wins over the deadline.
            for (token, fd, events) in expired { finish(token: token, with: .success(Self.isReady(fd, events) ? .ready : .timedOut)) }
        }
    }
}
