public import SocketKit
import Storage
import SystemPackage

/// Options read back from the kernel.
public struct SocketOptionsReport: Sendable {
    public var values: [SocketOption: SocketOptionValue]
    public var tcpInfo: TCPInfo?
}

extension SocketRegistry {
    /// Every option that applies to the socket, read from the kernel now.
    /// Reading does not wait for the socket's operations: getsockopt is safe beside them, and a GET must
    /// answer at once even while a long receive is pending.
    public func options(id: String) async throws -> SocketOptionsReport {
        read(try await live(id))
    }

    /// Sets options in order (one setsockopt each), records the change, and reads them all back.
    public func setOptions(id: String, _ options: [(SocketOption, SocketOptionValue)]) async throws -> SocketOptionsReport {
        var args: [String: Detail] = [:]
        for (option, value) in options { args[option.rawValue] = Self.json(value) }
        return try await perform(id, op: "setsockopt", args: .object(args)) { (managed: ManagedSocket) async throws -> Step<SocketOptionsReport> in
            for (option, value) in options {
                do { try managed.socket.setOption(option, value) } catch let error as Errno {
                    switch error {
                    case .permissionDenied, .notPermitted:
                        throw SockpitError(.forbidden, "setting \(option.rawValue) is not permitted (\(error.name))",
                                           field: option.rawValue, errno: error.name)
                    default:
                        throw SockpitError(.conflict, "\(option.rawValue) cannot be set on this \(managed.socket.family.name)/\(managed.socket.type.name) socket: \(error.message) (\(error.name))",
                                           field: option.rawValue, errno: error.name)
                    }
                }
            }
            let report = read(managed)
            var current: [String: Detail] = [:]
            for (option, value) in report.values where option.isSettable { current[option.rawValue] = Self.json(value) }
            let rendered = Detail.object(current)
            return Step(value: report, result: nil) { record in record.options = rendered }
        }.0
    }

    private func read(_ managed: ManagedSocket) -> SocketOptionsReport {
        let socket = managed.socket
        var values: [SocketOption: SocketOptionValue] = [:]
        for option in SocketOption.allCases where option.applies(family: socket.family, type: socket.type, protocol: socket.protocol) {
            if let value = try? socket.option(option) { values[option] = value }
        }
        let tcpInfo = socket.protocol == .tcp && socket.family != .unix ? try? socket.tcpInfo() : nil
        return SocketOptionsReport(values: values, tcpInfo: tcpInfo)
    }

    static func json(_ value: SocketOptionValue) -> Detail {
        switch value {
        case .bool(let flag): .bool(flag)
        case .int(let number): .int(Int64(number))
        case .linger(let enabled, let seconds): .object(["enabled": .bool(enabled), "seconds": .int(Int64(seconds))])
        case .errno(let name): name.map(Detail.string) ?? .null
        case .socketType(let name): .string(name)
        }
    }
}
