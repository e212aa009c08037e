import Dispatch
import Glibc

/// Where handler tasks run: their first stretch right on the daemon thread that dispatched the request,
/// everything after a real suspension on Dispatch's global pool (as Swift's default executor would).
///
/// Why: most requests never wait (create, send, receive of data already there, close, every read). Started
/// with a plain `Task`, each paid two thread hand-offs — the daemon thread waking a pool thread, and the pool
/// thread waking the daemon thread through `MHD_resume_connection` — plus the suspend/resume itself. On this
/// 2-core VM the wake-ups (`finish_task_switch`, futex and epoll wake paths) were the largest single item in
/// a lifecycle profile. Running the task's first job inline means a handler that does not suspend has its
/// response before `dispatch` returns, and the connection is never suspended. A handler that does suspend
/// (a receive waiting for data, a commit queued behind another) continues on the pool exactly as before.
///
/// Only the job that `Task.init` enqueues on the thread that armed the executor runs inline: the thread-local
/// flag is consumed by that first `enqueue`, so jobs enqueued later from the same thread (a continuation the
/// inline job resumes, a child task) go to the pool and are never nested inside the running one.
final class HandlerExecutor: TaskExecutor, @unchecked Sendable {
    /// The one executor every handler task prefers.
    static let shared = HandlerExecutor()

    /// Set on a thread while it may run the next enqueued job inline (a `pthread_key_t`, created once).
    private let inlineKey: pthread_key_t
    private let pool = DispatchQueue.global(qos: .userInitiated)

    private init() {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        inlineKey = key
    }

    /// Starts `operation` as a task whose first job runs on this thread, before this call returns.
    func start(_ operation: sending @escaping () async -> Void) {
        pthread_setspecific(inlineKey, UnsafeRawPointer(bitPattern: 1))
        Task(executorPreference: self, operation: operation)
        // Normally consumed by the task's first enqueue already; never leave it armed.
        pthread_setspecific(inlineKey, nil)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        if pthread_getspecific(inlineKey) != nil {
            pthread_setspecific(inlineKey, nil)
            job.runSynchronously(on: asUnownedTaskExecutor())
            return
        }
        let unowned = UnownedJob(job)
        pool.async { unowned.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
