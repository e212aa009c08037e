public import SystemPackage

extension Socket {
    /// `close()` for a caller that must not block: with `SO_LINGER` on and a timeout, the kernel makes `close`
    /// wait up to that many seconds (65535 at most) for unsent data, even on a non-blocking socket. Such a close
    /// runs on a thread of its own while the caller is suspended, holding no thread; any other closes at once.
    public func closeWithoutBlocking() async throws(Errno) {
        guard case .linger(true, let seconds)? = try? option(.so_linger), seconds > 0 else { return try close() }
        // A thread of its own for each lingering close (bounded by the sockets open: one each at most).
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, Errno>, Never>) in
            let close = { continuation.resume(returning: Result { () throws(Errno) in try self.close() }) }
            do { try DetachedThread.start(close) } catch {
                close()  // no thread to be had: close here rather than not at all
            }
        }
        try result.get()
    }
}
