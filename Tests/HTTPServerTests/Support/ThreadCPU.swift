import Glibc

/// CPU time of individual threads of this process, read through Linux per-thread CPU clocks.
///
/// Swift Testing runs other suites in the same process at the same time, so process-wide CPU time
/// (`CLOCK_PROCESS_CPUTIME_ID`) would count their work too; the threads libmicrohttpd started for one
/// server are what a spinning content reader would keep busy.
enum ThreadCPU {
    /// The ids of this process's threads right now.
    static func threadIDs() -> Set<Int32> {
        guard let dir = opendir("/proc/self/task") else { return [] }
        defer { closedir(dir) }
        var ids: Set<Int32> = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let id = Int32(name) { ids.insert(id) }
        }
        return ids
    }

    /// Total CPU time consumed so far by the given threads (ended threads count as zero).
    static func cpuTime(of threads: Set<Int32>) -> Duration {
        var total = Duration.zero
        for tid in threads {
            // glibc's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): what pthread_getcpuclockid returns.
            let clock = clockid_t(bitPattern: UInt32(truncatingIfNeeded: ~Int(tid)) << 3) | 6
            var spec = timespec()
            if clock_gettime(clock, &spec) == 0 {
                total += .seconds(spec.tv_sec) + .nanoseconds(spec.tv_nsec)
            }
        }
        return total
    }
}
