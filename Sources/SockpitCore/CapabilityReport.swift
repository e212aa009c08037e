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

    /// Probes the host now: tries every socket kind and reads the process's capabilities.
    public static func probe(limits: ServiceLimits, httpLibraryVersion: String, sqliteVersion: String) -> Self {
        Self(
            socketKinds: CapabilityProbe.run(),
            uid: Int(geteuid()),
            privileges: (try? ProcessCapabilities.current()) ?? ProcessCapabilities(effective: 0),
            limits: limits,
            version: SockpitVersion.current,
            httpLibraryVersion: httpLibraryVersion,
            sqliteVersion: sqliteVersion
        )
    }
}
