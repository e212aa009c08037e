import ArgumentParser
import Foundation
import OpenAPIRuntime
import SockpitContract

/// Request bodies built as the JSON a curl user would write, then decoded into the generated type: the
/// generated decoder checks them exactly as the server's does (unknown names, enum values, shapes).
enum RequestBody {
    static func decode<Body: Decodable>(_ object: [String: Any], as type: Body.Type = Body.self, option: String) throws -> Body {
        let data = try JSONSerialization.data(withJSONObject: object)
        do {
            return try JSONDecoder().decode(Body.self, from: data)
        } catch {
            throw ValidationError("\(option): \(describe(error))")
        }
    }

    /// A decoding error as one line naming the member.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).filter { !$0.isEmpty }.joined(separator: ".")
            return (path.isEmpty ? "" : "\(path): ") + context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }

    /// An address as typed on a command line: `127.0.0.1:8080`, `[::1]:80`, `localhost:8080`, `/run/x.sock` or
    /// `unix:x.sock` (a path, relative ones under the server's sockets directory), `@name` (an abstract name).
    static func address(_ text: String) throws -> [String: Any] {
        if text.hasPrefix("@") { return ["abstract": String(text.dropFirst())] }
        if text.hasPrefix("unix:") { return ["path": String(text.dropFirst(5))] }
        if text.hasPrefix("/") { return ["path": text] }
        var host = text, port: Int?
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") { port = Int(rest.dropFirst()) ?? -1 } else if !rest.isEmpty { port = -1 }
        } else if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            host = String(text[..<colon])
            port = Int(text[text.index(after: colon)...]) ?? -1
        }
        if let port, !(0...65535).contains(port) {
            throw ValidationError("'\(text)' has no port from 0 to 65535 after its ':' (write [v6]:port for IPv6)")
        }
        guard !host.isEmpty else { throw ValidationError("'\(text)' names no host") }
        return port.map { ["host": host, "port": $0] } ?? ["host": host]
    }
}

/// The human forms of the contract's values.
enum Render {
    static func address(_ address: Components.Schemas.Address?) -> String? {
        switch address {
        case nil: return nil
        case .InetAddress(let inet)?:
            let host = inet.host.contains(":") ? "[\(inet.host)\(inet.scopeId.map { "%\($0)" } ?? "")]" : inet.host
            return inet.port.map { "\(host):\($0)" } ?? host
        case .UnixPathAddress(let unix)?: return unix.path.isEmpty ? "(unnamed)" : unix.path
        case .UnixAbstractAddress(let abstract)?: return "@" + abstract.abstract
        case .LinkAddress(let link)?:
            return [link.interface, link.address, link.index.map { "index \($0)" }].compactMap { $0 }.joined(separator: " ")
        case .NetlinkAddress(let netlink)?:
            return "netlink pid \(netlink.netlink.pid ?? 0) groups \(netlink.netlink.groups ?? 0)"
        }
    }

    static func time(_ date: Date) -> String {
        try! ISO8601DateTranscoder.iso8601WithFractionalSeconds.encode(date)
    }

    /// One socket as aligned fields.
    static func socket(_ socket: Components.Schemas.Socket) -> String {
        let counters = socket.counters
        return Output.fields([
            ("id", socket.id),
            ("state", socket.state.rawValue + (socket.closeReason.map { " (\($0.value1.rawValue))" } ?? "")),
            ("kind", "\(socket.family.rawValue) \(socket._type.rawValue) \(socket._protocol)"),
            ("local", address(socket.localAddress)),
            ("peer", address(socket.peerAddress)),
            ("label", socket.label),
            ("parent", socket.parentId),
            ("netns", socket.netns),
            ("created", time(socket.createdAt)),
            ("closed", socket.closedAt.map(time)),
            ("traffic", "sent \(counters.bytesSent) B in \(counters.messagesSent), received \(counters.bytesReceived) B in \(counters.messagesReceived)"),
        ])
    }

    /// Sockets as a table.
    static func sockets(_ sockets: [Components.Schemas.Socket]) -> String {
        Output.table(["ID", "KIND", "STATE", "LOCAL", "PEER", "LABEL"], sockets.map { socket in
            [socket.id, "\(socket.family.rawValue)/\(socket._type.rawValue)", socket.state.rawValue,
             address(socket.localAddress) ?? "-", address(socket.peerAddress) ?? "-", socket.label ?? ""]
        })
    }

    /// One event as a line: id, time, op, outcome, subject, errno and duration.
    static func event(_ event: Components.Schemas.Event) -> String {
        var parts = [event.id, time(event.at), event.op.rawValue, event.outcome.rawValue,
                     event.socketId ?? event.probeId ?? "-"]
        if let errno = event.errno { parts.append(errno) }
        if let bytes = event.bytes { parts.append("\(bytes) B") }
        if let ms = event.durationMs { parts.append(Output.duration(ms: ms)) }
        return parts.joined(separator: "  ")
    }
}

extension RequestBody {
    /// A single enum value (a query parameter) checked by its generated type.
    static func decode<Value: RawRepresentable & Decodable>(_ text: String, option: String) throws -> Value where Value.RawValue == String {
        guard let value = Value(rawValue: text) else { throw ValidationError("\(option) '\(text)' is not one the server knows") }
        return value
    }
}

extension Render {
    /// Any answer as `name  value` lines, nested members as dotted names, arrays as JSON on one line.
    static func flat<Value: Encodable>(_ value: Value) -> String {
        guard let json = try? Output.json(value, compact: true),
              let tree = try? JSONDecoder().decode(JSONTree.self, from: Data(json.utf8)) else { return "" }
        var pairs: [(String, String?)] = []
        func walk(_ tree: JSONTree, _ name: String) {
            if case .object(let members) = tree {
                for key in members.keys.sorted() { walk(members[key]!, name.isEmpty ? key : "\(name).\(key)") }
            } else {
                pairs.append((name, tree.text))
            }
        }
        walk(tree, "")
        return Output.fields(pairs)
    }
}

/// A JSON value, to print answers whose shape the printer does not know.
indirect enum JSONTree: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONTree]), object([String: JSONTree])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONTree].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONTree].self)) }
    }

    /// The value as written in JSON, compactly (strings without quotes at the top).
    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value): return value
        case .array(let items): return "[" + items.map { $0.quoted }.joined(separator: ",") + "]"
        case .object(let members): return "{" + members.keys.sorted().map { "\"\($0)\":\(members[$0]!.quoted)" }.joined(separator: ",") + "}"
        }
    }

    private var quoted: String { if case .string(let value) = self { return "\"\(value)\"" } else { return text } }
}
