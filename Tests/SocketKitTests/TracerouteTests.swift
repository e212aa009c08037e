import Glibc
import NamespaceRig
import SocketKit
import Testing

@Suite(.enabled(if: NamespaceRig.isAvailable, "\(NamespaceRig.unavailableReason ?? "")"))
struct TracerouteTests {
    @Test("a trace from a across r1 and r2 finds both routers, then c, for each method", arguments: TraceMethod.allCases)
    func traceFindsEveryHop(method: TraceMethod) async throws {
        try await NamespaceRig.withChain(routers: 2) { hosts in
            var options = TraceOptions()
            options.namespace = try NetworkNamespace(name: hosts[0].name)
            options.maxHops = 8
            options.timeout = .seconds(2)
            let target = try SocketAddress(host: hosts[3].ipv4, port: 0)
            let probes = await Traceroute.trace(host: target, method: method, options: options)
            let byHop = Dictionary(grouping: probes, by: \.ttl)
            #expect(byHop.keys.sorted() == [1, 2, 3], "\(probes)")
            // As with traceroute, a probe may be lost on the way (timeout); every answer is the right hop's.
            for (ttl, expected) in [(1, hosts[1].ipv4), (2, hosts[2].ipv4), (3, hosts[3].ipv4)] {
                let hop = byHop[ttl] ?? []
                let answered = hop.filter { $0.state != .timeout }
                #expect(hop.count == 3 && !answered.isEmpty)
                #expect(answered.allSatisfy { $0.from == (try? SocketAddress(host: expected, port: 0)) }, "hop \(ttl): \(hop)")
                #expect(answered.allSatisfy { $0.state == (ttl == 3 ? .reached : .hop) }, "hop \(ttl): \(hop)")
            }
            #expect(probes.filter { $0.state == .timeout }.count <= 1, "at most one probe lost: \(probes)")
        }
    }
}
