import Glibc
@testable import SocketKit
import Testing

@Suite("Resolver: getaddrinfo off the caller's thread")
struct ResolverTests {
    @Test("localhost resolves to loopback addresses carrying the port")
    func localhostIsLoopback() async throws {
        let addresses = try await Resolver.resolve(host: "localhost", port: 8080, family: nil, type: .stream)
        #expect(!addresses.isEmpty)
        for address in addresses {
            switch address {
            case .v4(let host, 8080): #expect(host.description.hasPrefix("127."))
            case .v6(let host, 8080, _): #expect(host == .loopback)
            default: Issue.record("\(address) is not a loopback address with port 8080")
            }
        }
        #expect(Set(addresses).count == addresses.count, "no duplicates")
    }

    @Test("Numeric hosts come back as they are, for the family asked")
    func numericHosts() async throws {
        #expect(try await Resolver.resolve(host: "127.0.0.1", port: 80, family: nil, type: .stream)
            == [.v4(host: .loopback, port: 80)])
        #expect(try await Resolver.resolve(host: "::1", port: 53, family: .inet6, type: .dgram)
            == [.v6(host: .loopback, port: 53, scopeID: 0)])
        #expect(try await Resolver.resolve(host: "127.0.0.1", port: 0, family: .inet, type: .raw)
            == [.v4(host: .loopback, port: 0)], "raw sockets take no service")
        await #expect(throws: ResolveError.self) {
            try await Resolver.resolve(host: "::1", port: 53, family: .inet, type: .dgram)
        }
    }

    @Test("A reserved .invalid name fails with a getaddrinfo code, its name and message")
    func invalidNameFails() async throws {
        do {
            let addresses = try await Resolver.resolve(host: "no-such-host.invalid", port: 80, family: nil, type: .stream)
            Issue.record("resolved to \(addresses)")
        } catch {
            // EAI_NONAME where a resolver answers NXDOMAIN; EAI_AGAIN or EAI_FAIL where none is reachable.
            #expect(["EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA"].contains(error.name), "\(error)")
            #expect(error.code < 0 && !error.message.isEmpty)
            #expect(error.description == "\(error.name): \(error.message)")
        }
    }

    @Test("A lookup whose task is already cancelled ends with EAI_CANCELED")
    func cancelledLookup() async throws {
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await Resolver.resolve(host: "localhost", port: 1, family: nil, type: .stream)
        }
        await #expect(throws: ResolveError.cancelled) { try await task.value }
    }

    @Test("Concurrent lookups each get their own answer")
    func concurrentLookups() async throws {
        try await withThrowingTaskGroup(of: [SocketAddress].self) { group in
            for port in 1...20 {
                group.addTask { try await Resolver.resolve(host: "localhost", port: UInt16(port), family: .inet, type: .stream) }
            }
            var ports: Set<UInt16> = []
            for try await addresses in group { ports.formUnion(addresses.compactMap(\.port)) }
            #expect(ports == Set(1...20))
        }
    }
}

@Suite("Interface addresses")
struct InterfaceAddressesTests {
    @Test("The host's addresses include IPv4 loopback, each once and with port 0")
    func includesLoopback() throws {
        let addresses = try InterfaceAddresses.all()
        #expect(addresses.contains(.v4(host: .loopback, port: 0)))
        #expect(addresses.allSatisfy { $0.port == 0 })
        #expect(Set(addresses).count == addresses.count)
    }
}
