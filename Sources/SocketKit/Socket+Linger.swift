import Glibc
public import SystemPackage

extension Socket {
    /// `close()` for a caller that must not block: with `SO_LINGER` on and a timeout, the kernel makes `close`
    /// wait up to that many seconds (65535 at most) for unsent data, even on a non-blocking socket. Such a close
    /// runs on a thread of its own while the caller is suspended, holding no thread; any other closes at once.
    public func closeWithoutBlocking() async throws(Errno) {
        guard case .linger(true, let seconds)? = try? option(.so_linger), seconds > 0 else { return try close() }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, Errno>, Never>) in
            LingeringClose.spawn { continuation.resume(returning: Result { () throws(Errno) in try self.close() }) }
        }
        try result.get()
    }
}

/// A detached thread for one lingering close (bounded by the sockets open: one each at most).
private enum LingeringClose {
    final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func spawn(_ body: @escaping () -> Void) {
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        guard code == 0 else {
            // No thread to be had: close here rather than not at all.
            Unmanaged<Box>.fromOpaque(context).takeRetainedValue().body()
            return
        }
        pthread_detach(thread)
    }
}
