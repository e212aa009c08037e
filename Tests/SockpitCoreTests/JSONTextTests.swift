import Foundation
import SockpitCore
import Testing

/// `JSONText`: the compact JSON written into the events table.
@Suite struct JSONTextTests {
    /// Quotes, backslashes and control characters are escaped as RFC 8259 requires; the rest is kept.
    @Test("strings escape quote, backslash, named and other control characters, and keep Unicode as is")
    func stringEscapes() {
        #expect(JSONText.string(#"say "hi""#).rendered == #""say \"hi\"""#)
        #expect(JSONText.string(#"C:\dir"#).rendered == #""C:\\dir""#)
        #expect(JSONText.string("a\nb\rc\td").rendered == #""a\nb\rc\td""#)
        #expect(JSONText.string("\u{0}\u{1}\u{8}\u{c}\u{1f}").rendered == #""\u0000\u0001\u0008\u000c\u001f""#)
        #expect(JSONText.string("/ é 🧦 \u{7f}").rendered == "\"/ é 🧦 \u{7f}\"")
        #expect(JSONText.string("").rendered == #""""#)
    }

    /// Whatever the string, a JSON parser reads back exactly that string.
    @Test("rendered strings parse back to the original with JSONSerialization")
    func stringsRoundTrip() throws {
        var awkward = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
        awkward += ["\"", "\\", "\u{2028}", "\u{fffd}", "tab\there", "🧦\"\\\n"]
        for text in awkward {
            let rendered = JSONText.array([.string(text)]).rendered
            let parsed = try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String]
            #expect(parsed == [text], "rendered: \(rendered)")
        }
    }

    /// Scalars, arrays and objects render compactly, objects with sorted keys (stable text for storage).
    @Test("values render compactly with object keys sorted")
    func valuesRenderCompactlyAndSorted() {
        #expect(JSONText.null.rendered == "null")
        #expect(JSONText.bool(true).rendered == "true")
        #expect(JSONText.bool(false).rendered == "false")
        #expect(JSONText.int(-42).rendered == "-42")
        #expect(JSONText.int(.max).rendered == "9223372036854775807")
        #expect(JSONText.double(0.5).rendered == "0.5")
        #expect(JSONText.array([]).rendered == "[]")
        #expect(JSONText.object([:]).rendered == "{}")
        let object = JSONText.object([
            "zeta": .int(1), "alpha": .array([.null, .bool(true), .string("x")]), "mid": .object(["b": .int(2), "a": .int(1)]),
            "quo\"te": .string("v"),
        ])
        #expect(object.rendered == #"{"alpha":[null,true,"x"],"mid":{"a":1,"b":2},"quo\"te":"v","zeta":1}"#)
    }

    /// JSON has no NaN or infinity; they are written as null rather than producing invalid text.
    @Test("non-finite doubles render as null")
    func nonFiniteDoublesAreNull() throws {
        #expect(JSONText.double(.nan).rendered == "null")
        #expect(JSONText.double(.infinity).rendered == "null")
        #expect(JSONText.double(-.infinity).rendered == "null")
        let rendered = JSONText.array([.double(1e300), .double(-0.25), .double(.nan)]).rendered
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [Any], "rendered: \(rendered)")
        #expect(parsed.count == 3)
    }
}
