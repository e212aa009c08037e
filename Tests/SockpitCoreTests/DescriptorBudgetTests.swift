import Glibc
import SockpitCore
import Testing

/// Probes get an equal share of the descriptors left after connections and managed sockets (issue 18): together
/// they can never take one that an HTTP connection or a managed socket needs.
@Suite("Descriptor budget")
struct DescriptorBudgetTests {
    /// This process's hard `RLIMIT_NOFILE` (the ceiling `claimDescriptors` raises the soft limit to).
    static func hardLimit() -> Int {
        var limit = rlimit()
        precondition(getrlimit(__rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue)), &limit) == 0)
        return limit.rlim_max == rlim_t.max ? Int.max : Int(limit.rlim_max)
    }

    @Test("each probe's concurrency is cut to its share of what connections and sockets leave")
    func probesShareWhatIsLeft() throws {
        let limits = ServiceLimits(maxConnections: 100, maxOpenSockets: 100)
        let kept = 100 + 100 + ServiceLimits.reservedDescriptors
        let probes = try limits.claimDescriptors(probes: ProbeLimits(maxConcurrentProbes: 16))
        let hard = Self.hardLimit()
        let share = hard == Int.max ? ProbeLimits.concurrencyCeiling : min(ProbeLimits.concurrencyCeiling, (hard - kept) / 16)
        #expect(probes.maxConcurrency == share)
        #expect(kept + 16 * probes.maxConcurrency <= hard, "all probes at full concurrency fit beside connections and sockets")
    }

    @Test("limits the hard limit cannot hold are refused, naming the flags")
    func impossibleLimitsAreRefused() throws {
        let hard = Self.hardLimit()
        try #require(hard < Int.max / 4, "an unlimited RLIMIT_NOFILE cannot be exceeded")
        let limits = ServiceLimits(maxConnections: hard, maxOpenSockets: 1)
        #expect {
            _ = try limits.claimDescriptors(probes: ProbeLimits())
        } throws: { error in
            let detail = (error as? SockpitError)?.detail ?? ""
            return detail.contains("--max-connections") && detail.contains("--max-concurrent-probes")
        }
    }
}
