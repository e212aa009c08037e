import Glibc
public import SystemPackage

/// Runs one system call that reports failure as `-1` + `errno`, and returns its result.
///
/// `errno` is read immediately after `body` returns, before anything else can overwrite it, and a call
/// interrupted by a signal (`EINTR`) is simply made again: no caller of SocketKit ever sees `EINTR`.
/// Every syscall in SocketKit goes through here (STYLE.md rule 9), except `close`, which must never be
/// retried and has ``closeDescriptor(_:)``.
///
/// ```swift
/// let fd = try syscall { socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0) }
/// ```
///
/// - Throws: the `Errno` the call left behind.
@inline(__always)
public func syscall<T: FixedWidthInteger & SignedInteger>(_ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        guard result == -1 else { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw Errno(rawValue: code)
    }
}

/// Closes a file descriptor exactly once, without retrying.
///
/// On Linux the descriptor is released even when `close` fails with `EINTR` or `EIO`; retrying could
/// close an unrelated descriptor that another thread has just been given the same number, so an
/// interrupted close counts as done. Only `Socket` calls this, from the one place that owns the fd.
///
/// - Throws: `Errno` other than `EINTR` (in practice `EBADF`, or `EIO` from a failing device).
func closeDescriptor(_ fd: CInt) throws(Errno) {
    guard Glibc.close(fd) == -1 else { return }
    let code = Glibc.errno
    if code == EINTR { return }
    throw Errno(rawValue: code)
}
