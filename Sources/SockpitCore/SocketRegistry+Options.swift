public import SocketKit
import Storage
import SystemPackage

/// Options read back from the kernel.
public struct SocketOptionsReport: Sendable {
    public var values: [SocketOption: SocketOptionValue]
    public var tcpInfo: TCPInfo?
    /// The names of the interfaces the values name by index, as the socket's namespace calls them.
    public var interfaceNames: [UInt32: String] = [:]
}

extension SocketRegistry {
    /// Every option that applies to the socket, read from the kernel now.
    /// Reading does not wait for the socket's operations: getsockopt is safe beside them, and a GET must
    /// answer at once even while a long receive is pending.
    public func options(id: String) async throws -> SocketOptionsReport {
        read(try await live(id))
    }

    /// Sets options in order (one setsockopt each), records the change, and reads them all back. Joining and
    /// leaving multicast groups are among them; the socket's memberships follow what succeeded.
    public func setOptions(id: String, _ options: [(SocketOption, SocketOptionValue)]) async throws -> SocketOptionsReport {
        // A DELETE waits out the linger: no longer than any other wait.
        for case (.so_linger, .linger(true, let seconds)) in options where Duration.seconds(seconds) > policy.maxWait {
            throw SockpitError(.conflict, "so_linger.seconds is at most \(Self.ms(policy.maxWait) / 1000) (this server's max wait: a DELETE waits "
                + "for the linger), got \(seconds)", field: "so_linger.seconds")
        }
        var args: [String: Detail] = [:]
        for (option, value) in options { args[option.rawValue] = Self.json(value) }
        return try await perform(id, op: "setsockopt", args: .object(args)) { (managed: ManagedSocket) async throws -> Step<SocketOptionsReport> in
            var memberships = managed.snapshot().memberships.map(Self.memberships(from:)) ?? []
            // What each option set so far was before, to put back if a later one fails: a refused PATCH changes nothing.
            var undo: [(SocketOption, SocketOptionValue)] = []
            defer { for (option, previous) in undo.reversed() { try? managed.socket.setOption(option, previous) } }
            for (option, given) in options {
                let value = try resolved(given, for: managed, field: option.rawValue)
                let previous: (SocketOption, SocketOptionValue)? = switch (value, option.isReadable ? try? managed.socket.option(option) : nil) {
                case (.membership(let membership), _): Self.inverse(of: option).map { ($0, .membership(membership)) }
                // The kernel doubles the buffer sizes it is given (socket(7)): half of what it reads gives it back.
                case (_, .int(let size)?) where option == .so_rcvbuf || option == .so_sndbuf: (option, .int(size / 2))
                case (_, let read?): (option, read)
                case (_, nil): nil
                }
                do {
                    try managed.socket.setOption(option, value)
                    if let previous { undo.append(previous) }
                } catch let error as Errno {
                    switch error {
                    case .permissionDenied, .notPermitted:
                        throw SockpitError(.forbidden, "setting \(option.rawValue) is not permitted (\(error.name))",
                                           field: option.rawValue, errno: error.name)
                    default:
                        throw SockpitError(.conflict, "\(option.rawValue) cannot be set on this \(managed.socket.family.name)/\(managed.socket.type.name) socket: \(error.message) (\(error.name))",
                                           field: option.rawValue, errno: error.name)
                    }
                }
                if case .membership(let membership) = value { Self.follow(option, membership, in: &memberships) }
            }
            undo = []  // all of them took
            let report = read(managed)
            var current: [String: Detail] = [:]
            for (option, value) in report.values where option.isSettable { current[option.rawValue] = Self.json(value, names: report.interfaceNames) }
            let rendered = Detail.object(current)
            let names = interfaceNames(memberships.compactMap { if case .index(let index) = $0.interface { index } else { nil } }, of: managed)
            let joined: Detail? = memberships.isEmpty ? nil : .array(memberships.map { Self.json(.membership($0), names: names) })
            return Step(value: report, result: nil) { record in
                record.options = rendered
                record.memberships = joined
            }
        }.0
    }

    /// `value` with interface names turned into indexes in the socket's namespace (where `if_nametoindex` must
    /// ask); ENODEV for a name the namespace lacks.
    private func resolved(_ value: SocketOptionValue, for managed: ManagedSocket, field: String) throws -> SocketOptionValue {
        func index(_ choice: InterfaceChoice) throws -> InterfaceChoice {
            guard case .name(let name) = choice else { return choice }
            return .index(try managed.interfaceIndex(named: name, field: field))
        }
        switch value {
        case .interface(let choice): return .interface(try index(choice))
        case .membership(var membership):
            membership.interface = try index(membership.interface)
            return .membership(membership)
        default: return value
        }
    }

    /// The option that undoes a membership change.
    private static func inverse(of option: SocketOption) -> SocketOption? {
        switch option {
        case .ip_add_membership: .ip_drop_membership
        case .ip_drop_membership: .ip_add_membership
        case .ipv6_join_group: .ipv6_leave_group
        case .ipv6_leave_group: .ipv6_join_group
        default: nil
        }
    }

    /// Applies a join or leave that the kernel accepted to the socket's list of groups. A leave takes the first
    /// membership of the group whose interface agrees (the same, or either one chosen by the kernel).
    private static func follow(_ option: SocketOption, _ membership: Membership, in memberships: inout [Membership]) {
        switch option {
        case .ip_add_membership, .ipv6_join_group:
            memberships.append(membership)
        default:
            if let index = memberships.firstIndex(where: {
                $0.group == membership.group && ($0.interface == membership.interface || $0.interface == .any || membership.interface == .any)
            }) {
                memberships.remove(at: index)
            }
        }
    }

    private func read(_ managed: ManagedSocket) -> SocketOptionsReport {
        let socket = managed.socket
        var values: [SocketOption: SocketOptionValue] = [:]
        for option in SocketOption.allCases
        where option.isReadable && option.applies(family: socket.family, type: socket.type, protocol: socket.protocol) {
            if let value = try? socket.option(option) { values[option] = value }
        }
        let tcpInfo = socket.protocol == .tcp && socket.family != .unix ? try? socket.tcpInfo() : nil
        var report = SocketOptionsReport(values: values, tcpInfo: tcpInfo)
        let indexes = values.values.compactMap { value -> UInt32? in
            if case .interface(.index(let index)) = value { return index }
            return nil
        }
        report.interfaceNames = interfaceNames(indexes, of: managed)
        return report
    }

    /// The names of interfaces by index, as the socket's namespace calls them.
    private func interfaceNames(_ indexes: [UInt32], of managed: ManagedSocket) -> [UInt32: String] {
        var names: [UInt32: String] = [:]
        for index in Set(indexes) {
            if let name = managed.interfaceName(index: index) { names[index] = name }
        }
        return names
    }

    static func json(_ value: SocketOptionValue, names: [UInt32: String] = [:]) -> Detail {
        switch value {
        case .bool(let flag): .bool(flag)
        case .int(let number): .int(Int64(number))
        case .linger(let enabled, let seconds): .object(["enabled": .bool(enabled), "seconds": .int(Int64(seconds))])
        case .errno(let name): name.map(Detail.string) ?? .null
        case .socketType(let name): .string(name)
        case .interface(let choice): json(choice, names: names) ?? .null
        case .device(let name): name.isEmpty ? .null : .string(name)
        case .icmpTypes(let types): .array(types.map { .int(Int64($0)) })
        case .membership(let membership):
            .object(["group": .string(membership.group.description)].merging(
                json(membership.interface, names: names).map { ["interface": $0] } ?? [:]) { first, _ in first })
        }
    }

    /// `{"index", "name"}`, `{"address"}` or `{"name"}`; nil for the kernel's choice.
    private static func json(_ choice: InterfaceChoice, names: [UInt32: String]) -> Detail? {
        switch choice {
        case .any: nil
        case .index(let index): .object(["index": .int(Int64(index))].merging(names[index].map { ["name": .string($0)] } ?? [:]) { a, _ in a })
        case .address(let address): .object(["address": .string(address.description)])
        case .name(let name): .object(["name": .string(name)])
        }
    }

    /// The memberships a stored `memberships` column holds.
    static func memberships(from detail: Detail) -> [Membership] {
        guard case .array(let items) = detail else { return [] }
        return items.compactMap { item in
            guard case .object(let fields) = item, case .string(let text)? = fields["group"], let group = try? IPAddress(text) else { return nil }
            var choice = InterfaceChoice.any
            if case .object(let interface)? = fields["interface"] {
                if case .int(let index)? = interface["index"], let index = UInt32(exactly: index) {
                    choice = .index(index)
                } else if case .string(let address)? = interface["address"], let parsed = try? IPv4Address(address) {
                    choice = .address(parsed)
                }
            }
            return Membership(group: group, interface: choice)
        }
    }
}
