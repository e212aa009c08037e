import Foundation
import NamespaceRig
import SocketKit
import Testing

@Suite(.enabled(if: NamespaceRig.isAvailable, "\(NamespaceRig.unavailableReason ?? "")"))
struct NetlinkTests {
    @Test("a subscription with a tiny buffer hears the kernel's ENOBUFS as an overrun, and keeps hearing changes after it")
    func overrunIsReported() async throws {
        try await NamespaceRig.with(hosts: 1) { rig in
            let channel = try NetlinkChannel(protocol: .netlinkRoute, in: try NetworkNamespace(name: rig.hosts[0].name))
            try channel.subscribe(groups: RouteChange.groups(["address"]), receiveBuffer: 1024)
            let batch = (1...300).map { "addr add 10.50.\($0 / 250).\($0 % 250 + 1)/32 dev lo" }.joined(separator: "\n")
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("sockpit-netlink-batch-\(getpid())")
            try batch.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            try rig.exec(rig.hosts[0], ["ip", "-batch", file.path])
            var overruns = 0, messages = 0
            while let notification = try await channel.notification(until: .now + .milliseconds(300)) {
                switch notification {
                case .overrun: overruns += 1
                case .messages(let batch): messages += batch.count
                }
            }
            #expect(overruns >= 1, "messages \(messages)")
            try rig.exec(rig.hosts[0], ["ip", "addr", "add", "10.51.0.1/32", "dev", "lo"])
            // Other changes may come first (the rig's IPv6 link-local address finishing its duplicate detection).
            var heard = false
            while !heard, let notification = try await channel.notification(until: .now + .seconds(2)) {
                guard case .messages(let batch) = notification else { continue }
                heard = batch.compactMap(RouteChange.init).contains { change in
                    if case .address(false, let address) = change { address.local == "10.51.0.1" } else { false }
                }
            }
            #expect(heard, "the address added after the overrun")
        }
    }
}
