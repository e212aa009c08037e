import SocketKit
import SockpitCore
import Testing

/// Abstract Unix names are a namespace the host's own services share (D-Bus, containerd, X11) and no directory
/// confines them (issue 18): with the API beyond loopback they are denied unless a prefix allows them.
@Suite struct AbstractNamePolicyTests {
    static func beyondLoopback(_ prefixes: [String] = []) -> TargetPolicy {
        TargetPolicy.defaults(apiOnLoopbackOnly: false, hostAddresses: [], allow: [], deny: [], allowAbstract: prefixes)
    }

    @Test("On loopback every abstract name is allowed; beyond it none, unless a prefix allows it")
    func decisions() throws {
        let loopback = TargetPolicy.defaults(apiOnLoopbackOnly: true, hostAddresses: [], allow: [], deny: [])
        #expect(loopback.decide(abstract: "dbus-host") == .allowed)
        guard case .denied(_, let reason) = Self.beyondLoopback().decide(abstract: "dbus-host") else {
            Issue.record("an abstract name beyond loopback is denied by default")
            return
        }
        #expect(reason.contains("--allow-abstract"))
        let prefixed = Self.beyondLoopback(["sockpit-"])
        #expect(prefixed.decide(abstract: "sockpit-echo") == .allowed)
        #expect(prefixed.decide(abstract: "dbus-host") != .allowed)
        #expect(prefixed.decide(try SocketAddress(abstractName: "sockpit-echo")) == .allowed)
        #expect(prefixed.decide(try SocketAddress(abstractName: "other")) != .allowed)
    }

    @Test("Beyond loopback, bind and connect to an unallowed abstract name are 403 naming the field; nothing is reached")
    func registryRefusesUnallowedNames() async throws {
        try await withHistory(targets: Self.beyondLoopback(["sockpit-"])) { history in
            let socket = try await history.registry.create(family: "unix", type: "stream", protocol: nil, label: nil)
            for call in ["bind", "connect"] {
                await #expect {
                    if call == "bind" {
                        _ = try await history.registry.bind(id: socket.id, address: .abstract("host-service"))
                    } else {
                        _ = try await history.registry.connect(id: socket.id, address: .abstract("host-service"), timeout: .seconds(1))
                    }
                } throws: { error in
                    let error = error as? SockpitError
                    return error?.kind == .forbidden && error?.field == "address.abstract"
                }
            }
            let bound = try await history.registry.bind(id: socket.id, address: .abstract("sockpit-\(socket.id)"))
            #expect(bound.state == .bound)
        }
    }
}

/// A broadcast reaches this host's own listeners too (issue 18): beyond loopback it is denied like the host's
/// own addresses, unless an allow rule reopens it.
@Suite struct BroadcastPolicyTests {
    @Test("Beyond loopback, 255.255.255.255 and every interface's broadcast address are denied by default; allow rules reopen them")
    func broadcastsAreDenied() throws {
        let policy = TargetPolicy.defaults(apiOnLoopbackOnly: false, allow: [], deny: [])
        let broadcasts = try InterfaceAddresses.broadcasts().map { address in
            guard case .v4(let host, _) = address else { return address }
            return SocketAddress.v4(host: host, port: 9)
        } + [try SocketAddress(host: "255.255.255.255", port: 9)]
        for address in broadcasts {
            guard case .denied(_, let reason) = policy.decide(address) else {
                Issue.record("\(address) is allowed")
                continue
            }
            // 127.255.255.255 (loopback's own broadcast) meets the loopback rule first: denied either way.
            #expect(reason.contains("broadcast") || reason.contains("loopback"), "\(reason)")
        }
        let reopened = TargetPolicy.defaults(apiOnLoopbackOnly: false, allow: [try TargetRule(parsing: "255.255.255.255/32")], deny: [])
        #expect(reopened.decide(try SocketAddress(host: "255.255.255.255", port: 9)) == .allowed)
        let loopback = TargetPolicy.defaults(apiOnLoopbackOnly: true, allow: [], deny: [])
        #expect(loopback.decide(try SocketAddress(host: "255.255.255.255", port: 9)) == .allowed)
    }
}
