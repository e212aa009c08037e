import Glibc

/// `unlimited` (the macro is `((rlim_t) -1)`, which Swift does not import).
private let unlimited = rlim_t.max

/// How many file descriptors this process may hold (`RLIMIT_NOFILE`).
public enum OpenFileLimit {
    /// Raises the soft limit to `needed` when the hard limit allows (never lowers it); returns the soft limit
    /// now in force and the hard one.
    public static func raise(toAtLeast needed: Int) -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_CONSTANT, &limit) == 0 else { return (0, 0) }
        let hard = limit.rlim_max == unlimited ? Int.max : Int(limit.rlim_max)
        if Int(limit.rlim_cur) < needed, limit.rlim_cur != unlimited {
            var raised = limit
            raised.rlim_cur = rlim_t(min(needed, hard))
            if setrlimit(RLIMIT_NOFILE_CONSTANT, &raised) == 0 { limit = raised }
        }
        let soft = limit.rlim_cur == unlimited ? Int.max : Int(limit.rlim_cur)
        return (soft, hard)
    }

    /// `RLIMIT_NOFILE` as the type `getrlimit` takes on glibc (an enum there, an Int32 elsewhere).
    private static var RLIMIT_NOFILE_CONSTANT: __rlimit_resource_t { __rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue)) }
}
