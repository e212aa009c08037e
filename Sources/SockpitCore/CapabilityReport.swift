import Glibc
public import SocketKit

/// What `GET /v1/capabilities` reports: the socket kinds this host can create, the process's network
/// privileges, the limits in force and the versions of the libraries underneath.
public struct CapabilityReport: Sendable {
    /// One entry per (family, type, protocol), found by actually calling `socket()` at start.
    public var socketKinds: [SocketKindSupport]
    /// Effective user id of the process.
    public var uid: Int
    /// The process's network capabilities (CAP_NET_RAW, CAP_NET_ADMIN).
    public var privileges: ProcessCapabilities
    /// The limits in force.
    public var limits: ServiceLimits
    /// Sockpit's version.
    public var version: String
    /// libmicrohttpd's version, as linked.
    public var httpLibraryVersion: String
    /// SQLite's version, as linked.
    public var sqliteVersion: String
    /// Target rules for connect and send-to: explicit allow, explicit deny, and default deny.
    public var targetRules: (allow: [String], deny: [String], defaultDeny: [String]) = ([], [], [])
    /// Where Unix filesystem names live.
    public var unixSocketsDirectory = ""
    /// The probe runner's limits.
    public var probeLimits = ProbeLimits()
    /// The network namespaces sockets and probes may be made in (`*`: all); empty: none.
    public var netnsAllowed: [String] = []
    /// What raw IP sockets may do.
    public var raw = RawSocketPolicy()

    /// Probes the host now: tries every socket kind and reads the process's capabilities.
    public static func probe(limits: ServiceLimits, policy: SocketPolicy, probeLimits: ProbeLimits = ProbeLimits(),
                             httpLibraryVersion: String, sqliteVersion: String) -> Self {
        var report = Self(
            socketKinds: CapabilityProbe.run(),
            uid: Int(geteuid()),
            privileges: (try? ProcessCapabilities.current()) ?? ProcessCapabilities(effective: 0),
            limits: limits,
            version: SockpitVersion.current,
            httpLibraryVersion: httpLibraryVersion,
            sqliteVersion: sqliteVersion
        )
        report.targetRules = (policy.targets.allowRules, policy.targets.denyRules, policy.targets.defaultDenyRules)
        report.unixSocketsDirectory = policy.unixPaths.directory
        report.probeLimits = probeLimits
        report.netnsAllowed = policy.namespaces.allowed
        report.raw = policy.raw
        return report
    }
}
