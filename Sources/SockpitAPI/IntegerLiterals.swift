/// Every number in this API's request bodies is an integer (counts, ports, byte sizes, milliseconds), and the
/// contract is OpenAPI 3.0, where `0.0` or `1e3` is not an `integer`. Foundation's JSONDecoder accepts them
/// for `Int` all the same, so the request body is checked for them before it is decoded. So is an integer past
/// 64 bits, which JSONDecoder reports only as "not valid JSON", without the field.
enum IntegerLiterals {
    /// The key of the first number written with a fraction or an exponent, or too large for 64 bits, outside
    /// strings; nil when none is. A number that is not under a key (an array element) is reported under the
    /// array's key.
    static func firstNonInteger(in json: [UInt8]) -> (key: String, literal: String)? {
        var index = 0
        var lastString: [UInt8] = []
        var key: [UInt8] = []
        while index < json.count {
            let byte = json[index]
            switch byte {
            case UInt8(ascii: "\""):
                var end = index + 1
                var text: [UInt8] = []
                while end < json.count, json[end] != UInt8(ascii: "\"") {
                    if json[end] == UInt8(ascii: "\\") { end += 1 }
                    if end < json.count { text.append(json[end]) }
                    end += 1
                }
                lastString = text
                index = end + 1
            case UInt8(ascii: ":"):
                key = lastString
                index += 1
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                var end = index
                var integral = true
                while end < json.count {
                    let c = json[end]
                    if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { integral = false } else if
                        !(c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)) { break }
                    end += 1
                }
                let literal = String(decoding: json[index..<end], as: UTF8.self)
                if !integral || Int64(literal) == nil { return (String(decoding: key, as: UTF8.self), literal) }
                index = end
            default:
                index += 1
            }
        }
        return nil
    }
}
