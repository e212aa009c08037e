import FoundationEssentials

/// Payload bytes as they travel in JSON: `data` + `encoding` (utf8, base64, hex). The server never guesses.
enum Payload {
    /// Decodes `text`; a malformed payload is a 400 naming `field` and the reason.
    static func decode(_ text: String, encoding: String, field: String) throws -> [UInt8] {
        switch encoding {
        case "base64":
            guard let data = Data(base64Encoded: text) else {
                throw APIProblem.validation("\(field) is not valid base64 (RFC 4648, with padding)", field: field)
            }
            return [UInt8](data)
        case "hex":
            let digits = Array(text.utf8)
            guard digits.count % 2 == 0 else {
                throw APIProblem.validation("\(field) is not valid hex: odd number of digits (\(digits.count))", field: field)
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(digits.count / 2)
            var index = 0
            while index < digits.count {
                guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else {
                    throw APIProblem.validation("\(field) is not valid hex: bad digit at offset \(index)", field: field)
                }
                bytes.append(high << 4 | low)
                index += 2
            }
            return bytes
        default:
            return Array(text.utf8)
        }
    }

    /// Encodes received bytes; utf8 is refused for bytes that are not UTF-8, rather than mangling them.
    static func encode(_ bytes: [UInt8], encoding: String) throws -> String {
        switch encoding {
        case "base64": return Data(bytes).base64EncodedString()
        case "hex":
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count * 2)
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 15)])
            }
            return String(decoding: out, as: UTF8.self)
        default:
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw APIProblem(kind: "not-utf8", status: .unprocessableContent, title: "Not UTF-8",
                                 detail: "the received bytes are not valid UTF-8 and were consumed; ask with encoding base64 or hex (or peek first)",
                                 field: "encoding")
            }
            return text
        }
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 48...57: digit - 48
        case 65...70: digit - 55
        case 97...102: digit - 87
        default: nil
        }
    }
}
