import Glibc
public import SystemPackage

/// The Linux capabilities this process holds, as far as sockets care.
///
/// Read from the `CapEff:` line of `/proc/self/status` (a 64-bit hex mask) rather than through libcap:
/// the kernel's own text is all that is needed, and it answers for this process, after any privilege drop.
public struct ProcessCapabilities: Hashable, Sendable {
    /// The effective capability mask: bit *n* set means capability number *n* is held.
    public let effective: UInt64

    /// Wraps an effective capability mask.
    public init(effective: UInt64) { self.effective = effective }

    /// Parses the text of a `/proc/<pid>/status` file; `nil` when it has no readable `CapEff:` line.
    public init?(procStatus text: String) {
        for line in text.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            guard let mask = UInt64(hex, radix: 16) else { return nil }
            self.init(effective: mask)
            return
        }
        return nil
    }

    /// Raw and packet sockets (`SOCK_RAW`, `AF_PACKET`). The corresponding C constant is `CAP_NET_RAW` (13).
    public var netRaw: Bool { has(bit: 13) }

    /// Interface, routing and privileged socket options. The corresponding C constant is `CAP_NET_ADMIN` (12).
    public var netAdmin: Bool { has(bit: 12) }

    /// Whether capability number `bit` is effective.
    public func has(bit: Int) -> Bool {
        (0..<64).contains(bit) && effective & (1 << UInt64(bit)) != 0
    }

    /// Reads this process's capabilities now.
    ///
    /// A status file without a `CapEff:` line (no such kernel in practice) reads as no capabilities,
    /// the safe assumption for deciding what to offer.
    ///
    /// - Throws: the `Errno` of opening or reading `/proc/self/status`.
    public static func current() throws(Errno) -> ProcessCapabilities {
        ProcessCapabilities(procStatus: try readFile("/proc/self/status")) ?? ProcessCapabilities(effective: 0)
    }

    /// Reads a small procfs file whole; procfs reports size 0, so read until end of file.
    private static func readFile(_ path: String) throws(Errno) -> String {
        let fd = try syscall { open(path, O_RDONLY | O_CLOEXEC) }
        defer { try? closeDescriptor(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            // Array's `withUnsafeMutableBytes` only rethrows untyped errors, hence the `Result`.
            let count = try chunk.withUnsafeMutableBytes { buffer in
                Result { () throws(Errno) in try syscall { read(fd, buffer.baseAddress, buffer.count) } }
            }.get()
            if count == 0 { break }
            contents += chunk[..<count]
        }
        return String(decoding: contents, as: UTF8.self)
    }
}
