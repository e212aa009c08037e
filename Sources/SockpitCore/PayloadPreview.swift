public import Storage

/// A bounded preview of a payload for the history: never an unbounded copy.
public enum PayloadPreview {
    static let limit = 64

    /// `{"bytes": n, "preview": ..., "preview_encoding": "utf8"|"hex"}` with at most 64 bytes shown.
    public static func json(_ bytes: ArraySlice<UInt8>) -> Detail {
        let head = bytes.prefix(limit)
        var members: [String: Detail] = ["bytes": .int(Int64(bytes.count))]
        if let text = String(validating: head, as: UTF8.self), !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t" }) {
            members["preview"] = .string(text)
            members["preview_encoding"] = .string("utf8")
        } else {
            members["preview"] = .string(head.map { String(format2: $0) }.joined())
            members["preview_encoding"] = .string("hex")
        }
        if bytes.count > limit { members["preview_truncated"] = .bool(true) }
        return .object(members)
    }
}

extension String {
    /// Two lowercase hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
