import Glibc
import SystemPackage

extension Socket {
    /// Waits until the socket is ready for `interest` or `deadline` passes, without blocking a thread.
    ///
    /// The descriptor stays lent for the whole wait: a `close()` meanwhile marks the socket closed at once, and
    /// the descriptor is released when the wait ends, so its number is never reused under the registration.
    /// Throws `EBADF` when the socket is already closed, `CancellationError` when the task is cancelled.
    public func wait(for interest: Interest, until deadline: ContinuousClock.Instant, on reactor: Reactor = .shared) async throws -> Readiness {
        let fd = try borrow()
        defer { returnBorrowed() }
        return try await reactor.wait(for: interest, on: fd, until: deadline)
    }

    /// Whether the socket is ready for `interest` right now (`poll(2)` without waiting); false once closed.
    public func isReady(for interest: Interest) -> Bool {
        (try? withUnsafeFileDescriptor { fd in Reactor.isReady(fd, for: interest) }) ?? false
    }
}
