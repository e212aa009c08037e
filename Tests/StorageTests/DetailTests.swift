import Foundation
import Storage
import Testing

/// `Detail`: the compact JSON written into the events table.
@Suite struct DetailTests {
    /// Quotes, backslashes and control characters are escaped as RFC 8259 requires; the rest is kept.
    @Test("strings escape quote, backslash, named and other control characters, and keep Unicode as is")
    func stringEscapes() {
        #expect(Detail.string(#"say "hi""#).text == #""say \"hi\"""#)
        #expect(Detail.string(#"C:\dir"#).text == #""C:\\dir""#)
        #expect(Detail.string("a\nb\rc\td").text == #""a\nb\rc\td""#)
        #expect(Detail.string("\u{0}\u{1}\u{8}\u{c}\u{1f}").text == #""\u0000\u0001\u0008\u000c\u001f""#)
        #expect(Detail.string("/ é 🧦 \u{7f}").text == "\"/ é 🧦 \u{7f}\"")
        #expect(Detail.string("").text == #""""#)
    }

    /// Whatever the string, a JSON parser reads back exactly that string.
    @Test("rendered strings parse back to the original with JSONSerialization")
    func stringsRoundTrip() throws {
        var awkward = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
        awkward += ["\"", "\\", "\u{2028}", "\u{fffd}", "tab\there", "🧦\"\\\n"]
        for text in awkward {
            let rendered = Detail.array([.string(text)]).text
            let parsed = try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String]
            #expect(parsed == [text], "rendered: \(rendered)")
        }
    }

    /// Scalars, arrays and objects render compactly, objects with sorted keys (stable text for storage).
    @Test("values render compactly with object keys sorted")
    func valuesRenderCompactlyAndSorted() {
        #expect(Detail.null.text == "null")
        #expect(Detail.bool(true).text == "true")
        #expect(Detail.bool(false).text == "false")
        #expect(Detail.int(-42).text == "-42")
        #expect(Detail.int(.max).text == "9223372036854775807")
        #expect(Detail.double(0.5).text == "0.5")
        #expect(Detail.array([]).text == "[]")
        #expect(Detail.object([:]).text == "{}")
        let object = Detail.object([
            "zeta": .int(1), "alpha": .array([.null, .bool(true), .string("x")]), "mid": .object(["b": .int(2), "a": .int(1)]),
            "quo\"te": .string("v"),
        ])
        #expect(object.text == #"{"alpha":[null,true,"x"],"mid":{"a":1,"b":2},"quo\"te":"v","zeta":1}"#)
    }

    /// JSON has no NaN or infinity; they are written as null rather than producing invalid text.
    @Test("non-finite doubles render as null")
    func nonFiniteDoublesAreNull() throws {
        #expect(Detail.double(.nan).text == "null")
        #expect(Detail.double(.infinity).text == "null")
        #expect(Detail.double(-.infinity).text == "null")
        let rendered = Detail.array([.double(1e300), .double(-0.25), .double(.nan)]).text
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [Any], "rendered: \(rendered)")
        #expect(parsed.count == 3)
    }

    /// What the history writes, it reads back: every value survives its column text.
    @Test("text parses back to the same value, escapes and all")
    func textRoundTrips() throws {
        var awkward = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
        awkward += ["\"", "\\", "\u{2028}", "\u{fffd}", "🧦\"\\\n", "é", ""]
        let values: [Detail] = [
            .null, .bool(false), .int(0), .int(-42), .int(Int64.max), .int(Int64.min), .double(0.043), .double(-1.5e-7),
            .array([]), .object([:]), .array(awkward.map(Detail.string)),
            .object(["local_address": .object(["host": .string("::1"), "port": .int(8080), "scope_id": .int(2)]),
                     "data": .object(["bytes": .int(5), "preview": .string("hello")]), "nested": .array([.array([.null])])]),
        ]
        for value in values {
            #expect(Detail(parsing: value.text) == value, "\(value.text)")
        }
    }

    /// Text written by others (older versions, sqlite3 by hand) parses by RFC 8259, whitespace and escapes included.
    @Test("parsing accepts whitespace, every escape and surrogate pairs; numbers with a fraction are doubles")
    func parsesForeignText() {
        #expect(Detail(parsing: " { \"a\" : [ 1 , 2.5 , -3e2 , true , null ] }\n") ==
                .object(["a": .array([.int(1), .double(2.5), .double(-300), .bool(true), .null])]))
        #expect(Detail(parsing: #""\/\b\f\n\r\t\u00e9\ud83e\udde6""#) == .string("/\u{8}\u{c}\n\r\té🧦"))
        #expect(Detail(parsing: "12345678901234567890") == .double(1.2345678901234567e19))
    }

    /// Anything that is not exactly one JSON value is refused, never half-read.
    @Test("malformed text is refused", arguments: [
        "", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "\"unterminated", "tru", "01x", "1 2", "\"\\ud83e\"", "\"\\x\"", "-", "1.", "1e",
        "6e8888888888888888889", "-1e309",  // past Double's range: would read as infinity (found by `make fuzz`)
        String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func malformedTextIsRefused(text: String) {
        #expect(Detail(parsing: text) == nil, "\(text)")
    }
}
