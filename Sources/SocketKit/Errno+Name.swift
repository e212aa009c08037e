import Glibc
public import SystemPackage

extension Errno {
    /// The symbolic C name of this error number, such as `"ECONNREFUSED"` for 111.
    ///
    /// This is what reaches the API's problem details (STYLE.md rule 9), so scripts can branch on a stable
    /// word rather than on a number or on prose. Aliases (`EWOULDBLOCK`, `EDEADLOCK`, `ENOTSUP`) share their
    /// number with `EAGAIN`, `EDEADLK` and `EOPNOTSUPP` and answer with those names. A number Linux does not
    /// assign answers `"errno <number>"`, which can never be mistaken for a real name.
    public var name: String {
        let table = Self.linuxNames
        guard rawValue > 0, Int(rawValue) < table.count, !table[Int(rawValue)].isEmpty else {
            return "errno \(rawValue)"
        }
        return table[Int(rawValue)]
    }

    /// The C library's message for this error number, such as `"Connection refused"`.
    public var message: String {
        // Swift sees glibc's POSIX `strerror_r` (it fills the buffer), which, unlike `strerror`, is
        // thread-safe for every number, unknown ones included.
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            guard let base = buffer.baseAddress else { return "Unknown error \(rawValue)" }
            base.initialize(to: 0)
            _ = strerror_r(rawValue, base, buffer.count)
            return base.pointee == 0 ? "Unknown error \(rawValue)" : String(cString: base)
        }
    }

    /// Names indexed by error number, from Linux x86-64's `asm-generic/errno-base.h` and `asm-generic/errno.h`.
    ///
    /// Index 0 is no error; 41 and 58 are the unassigned slots next to `EWOULDBLOCK` and `EDEADLOCK`.
    private static let linuxNames: [String] = [
        "", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD", "EAGAIN",
        "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR", "EISDIR", "EINVAL",
        "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS", "EMLINK", "EPIPE", "EDOM",
        "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", "", "ENOMSG", "EIDRM",
        "ECHRNG", "EL2NSYNC", "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR",
        "EXFULL", "ENOANO", "EBADRQC", "EBADSLT", "", "EBFONT", "ENOSTR", "ENODATA", "ETIME", "ENOSR", "ENONET",
        "ENOPKG", "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO", "EMULTIHOP", "EDOTDOT", "EBADMSG",
        "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG", "ELIBACC", "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC",
        "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS", "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE",
        "ENOPROTOOPT", "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT",
        "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET",
        "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED", "EHOSTDOWN",
        "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM", "ENAVAIL", "EISNAM", "EREMOTEIO",
        "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED", "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED",
        "EOWNERDEAD", "ENOTRECOVERABLE", "ERFKILL", "EHWPOISON"
    ]
}
