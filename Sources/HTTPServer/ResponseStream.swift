import CMicroHTTPD
import OpenAPIRuntime
import Synchronization

/// A bounded buffer between a producer task iterating an `HTTPBody` and libmicrohttpd's content reader.
///
/// When the buffer is empty the reader suspends the connection and returns 0 (returning 0 without
/// suspending would spin a core); the producer resumes it when data or the end arrives. When the buffer is
/// full the producer waits, so a slow client applies back-pressure instead of growing memory.
final class ResponseStream: @unchecked Sendable {
    private struct State {
        var chunks: [ArraySlice<UInt8>] = []
        var buffered = 0
        var finished = false
        var failed = false
        var cancelled = false
        var suspended = false
        var producerWaiting: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let connection: ConnectionHandle
    private let limit: Int
    /// The task iterating the body; cancelled when the client goes away.
    let producer = Mutex<Task<Void, Never>?>(nil)

    init(connection: ConnectionHandle, limit: Int) {
        self.connection = connection
        self.limit = limit
    }

    /// Content-reader side (daemon thread): copies up to `max` bytes, or suspends when there is nothing yet.
    /// Returns the byte count, or -1 at the end of the stream.
    func read(into buffer: UnsafeMutablePointer<CChar>, max: Int) -> Int {
        var wake: CheckedContinuation<Void, Never>?
        let count: Int = state.withLock { state in
            if state.chunks.isEmpty {
                // -2 (MHD_CONTENT_READER_END_WITH_ERROR) closes without the final chunk; -1 ends normally.
                if state.failed { return -2 }
                if state.finished || state.cancelled { return -1 }
                state.suspended = true
                MHD_suspend_connection(connection.pointer)
                return 0
            }
            var copied = 0
            while copied < max, !state.chunks.isEmpty {
                let chunk = state.chunks[0]
                let n = min(chunk.count, max - copied)
                chunk.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(buffer + copied).copyMemory(from: raw.baseAddress!, byteCount: n)
                }
                copied += n
                if n == chunk.count { state.chunks.removeFirst() } else { state.chunks[0] = chunk.dropFirst(n) }
            }
            state.buffered -= copied
            if state.buffered < limit { wake = state.producerWaiting; state.producerWaiting = nil }
            return copied
        }
        wake?.resume()
        return count
    }

    /// Producer side: queues a chunk, waking the reader; waits while the buffer is over its limit.
    /// Returns false once the client is gone or the server ends the stream.
    func append(_ chunk: ArraySlice<UInt8>) async -> Bool {
        guard !chunk.isEmpty else { return true }
        let (accepted, resume) = state.withLock { state -> (Bool, Bool) in
            guard !state.cancelled, !state.finished else { return (false, false) }
            state.chunks.append(chunk)
            state.buffered += chunk.count
            let resume = state.suspended
            state.suspended = false
            return (true, resume)
        }
        if resume { MHD_resume_connection(connection.pointer) }
        guard accepted else { return false }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waitNow = state.withLock { state -> Bool in
                guard state.buffered >= limit, !state.cancelled, !state.finished else { return false }
                state.producerWaiting = continuation
                return true
            }
            if !waitNow { continuation.resume() }
        }
        return state.withLock { !$0.cancelled && !$0.finished }
    }

    /// Ends the stream after what is buffered (producer finished, or the server is shutting down); `failed`
    /// ends it as incomplete.
    func finish(failed: Bool = false) {
        let (resume, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            state.finished = true
            if failed { state.failed = true }
            let resume = state.suspended
            state.suspended = false
            defer { state.producerWaiting = nil }
            return (resume, state.producerWaiting)
        }
        waiter?.resume()
        if resume { MHD_resume_connection(connection.pointer) }
    }

    /// The response was destroyed (client gone or stream done): stop the producer. Never resumes: the
    /// connection may no longer exist.
    func cancel() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.cancelled = true
            state.suspended = false
            defer { state.producerWaiting = nil }
            return state.producerWaiting
        }
        waiter?.resume()
        producer.withLock { $0?.cancel() }
    }
}
