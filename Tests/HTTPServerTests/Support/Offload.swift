import Glibc

/// The closure a dedicated thread runs, boxed so it can travel through `pthread_create`'s context pointer.
private final class ThreadJob: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Runs blocking work (socket I/O of the test client) on a new thread and awaits its result.
///
/// Blocking inside a task would hold one of the few cooperative threads, which also run the server's
/// handlers: with enough blocked clients the handlers could never run, and the test would deadlock.
func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let job = Unmanaged.passRetained(ThreadJob { continuation.resume(with: Result(catching: work)) })
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            Unmanaged<ThreadJob>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, job.toOpaque())
        if rc == 0 {
            pthread_detach(thread)
        } else {
            job.release()
            continuation.resume(throwing: HTTPClientError.syscall("pthread_create", errno: rc))
        }
    }
}
