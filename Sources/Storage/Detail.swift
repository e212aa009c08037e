/// A structured value of the history: an operation's arguments and result, a socket's addresses and options, a
/// probe's request, reason, phases and summary. The domain builds and reads it as a value; only Storage turns it
/// into text for its columns (`text`, compact JSON with sorted keys) and back (`init(parsing:)`), so no JSON text
/// reaches the domain or the API.
public indirect enum Detail: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([Detail])
    case object([String: Detail])

    /// Compact JSON text, keys sorted (the column's form). Built into one buffer: this runs for every recorded
    /// operation (measured at ~4 % of the server's CPU under the lifecycle benchmark when built from joined
    /// substrings).
    public var text: String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        render(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `text`, appended to `out` (for writers that build a larger JSON document around it).
    public func render(into out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let value): out += (value ? "true" : "false").utf8
        case .int(let value): out += String(value).utf8
        case .double(let value): out += (value.isFinite ? "\(value)" : "null").utf8
        case .string(let value): Self.quote(value, into: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.render(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.quote(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.render(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `quote` into a buffer; text with nothing to escape (the usual case) is copied as it is.
    static func quote(_ text: String, into out: inout [UInt8]) {
        let plain = text.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        if plain {
            out.append(UInt8(ascii: "\""))
            out += text.utf8
            out.append(UInt8(ascii: "\""))
        } else {
            out += quote(text).utf8
        }
    }

    /// A JSON string literal with the escapes RFC 8259 requires.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
