import Foundation
@testable import SockpitCore
import Testing

/// The probes' regular expressions: the same verdicts as Swift's `Regex` where both apply, in linear time.
@Suite struct LinearRegexTests {
    static let patterns = [
        "abc", "^abc", "abc$", "^$", "a|b|c", "(ab)+c", "a*", "a+b", "colou?r", "x{3}", "x{2,}", "x{1,3}y", "[a-c]+d",
        "[^0-9]", "\\d{3}", "\\w+@\\w+\\.com", "\\s", "\\S+", "^SSH-2\\.0-\\S+", "^HTTP/1\\.[01] \\d{3}", "a.c", "a\\.c",
        "\\bword\\b", "\\Bor\\B", "(?:ab|cd)ef", "(a|ab)(c|bcd)(d*)", "[\\d-]+", "[a-]", "\\x41", "é+", "(?i)hello",
        "a{0}b", "(a*)*b", "(|a)+c", "^(a+)+$", "[\\w.]+", "\\D\\W", "end\\z", "\\Astart", "{", "ab??c",
    ]
    static let texts = [
        "", "abc", "xabcx", "ab", "abcabc", "color", "colour", "xxx", "xxxxy", "abd", "bbd", "123", "a1", "mail@host.com",
        "SSH-2.0-OpenSSH_9.6", "HTTP/1.1 200 OK", "HTTP/2 200", "abc\n", "a\nc", "a.c", "word", "a word here", "words",
        "forward", "abef", "cdef", "abcd", "12-34", "]", "-", "A", "éé", "HeLLo", "b", "aab", "c", "aaaa", "x.y_z",
        "end", "start", "{", "a{,2}", "abc", "ac", "\t",
    ]

    @Test("Every pattern gives Swift Regex's verdict on every text (unanchored contains)")
    func agreesWithSwiftRegex() throws {
        for pattern in Self.patterns {
            let ours = try LinearRegex(pattern)
            let theirs = try Regex(pattern)
            // \w, \d, \s and \b are ASCII here, as in RE2; Swift's are Unicode: compare them on ASCII text.
            let asciiClasses = ["\\w", "\\W", "\\D", "\\b", "\\B"].contains { pattern.contains($0) }
            for text in Self.texts where !asciiClasses || text.allSatisfy(\.isASCII) {
                #expect(ours.matches(text) == text.contains(theirs), "pattern \(pattern) on \(text.debugDescription)")
            }
        }
    }

    @Test("RE2's readings where Swift's differ: ASCII classes, a brace that is no repetition is a literal")
    func re2Readings() throws {
        #expect(try LinearRegex("\\w").matches("é") == false)
        #expect(try LinearRegex("\\W").matches("é"))
        #expect(try LinearRegex("a{,2}").matches("a{,2}"))
        #expect(try LinearRegex("a{,2}").matches("aa") == false)
    }

    @Test("A ']' first in a class is a literal, as in RE2 and POSIX")
    func bracketFirstInAClassIsLiteral() throws {
        #expect(try LinearRegex("[]a]").matches("x]"))
        #expect(try LinearRegex("[]a]").matches("b") == false)
    }

    @Test("A reply fed in pieces, split anywhere (inside a UTF-8 sequence too), gets the verdict of the whole")
    func piecesGiveTheWholeVerdict() throws {
        for pattern in ["abc$", "\\bé\\b", "^(ab)+$", "x\\d+y", "(?i)ssh"] {
            let regex = try LinearRegex(pattern)
            for text in ["xxabc", "a é b", "ababab", "x123y", "SSH-2.0"] {
                let bytes = Array(text.utf8)
                let whole = regex.matches(text)
                for cut in 0...bytes.count {
                    var scanner = LinearRegex.Scanner(regex)
                    let first = scanner.feed(bytes[..<cut])
                    let verdict = first || scanner.feed(bytes[cut...])
                    #expect(verdict == whole, "pattern \(pattern) on \(text) cut at \(cut)")
                }
            }
        }
    }

    @Test("Exponential patterns for backtracking engines end, with the right verdict")
    func catastrophicPatternsEnd() throws {
        let text = String(repeating: "a", count: 4096)
        for pattern in ["^(a+)+b", "(a|aa)+$b", "(a*)*b", "^(a|a?)+b", "(x+x+)+y"] {
            #expect(try LinearRegex(pattern).matches(text) == false, "\(pattern)")
        }
        #expect(try LinearRegex("^(a+)+$").matches(text))
    }

    @Test("Invalid UTF-8 reads as U+FFFD, not as a match of something else")
    func invalidBytesAreReplacementCharacters() throws {
        var scanner = LinearRegex.Scanner(try LinearRegex("^a\u{FFFD}b$"))
        let replaced = scanner.feed([0x61, 0xFF, 0x62][...])
        #expect(replaced)
        var other = LinearRegex.Scanner(try LinearRegex("^a.b$"))
        let lone = other.feed([0x61, 0xC3, 0x62][...])
        #expect(lone, "a lead byte without its continuation is one U+FFFD")
    }

    @Test("What cannot run in linear time, or is malformed, is refused with a reason", arguments: [
        ("(a)\\1", "backreferences"), ("(?=a)", "lookaround"), ("(?<=a)b", "lookaround"), ("a**", "second repetition"),
        ("(abc", "missing ')'"), ("abc)", "unmatched ')'"), ("[abc", "missing ']'"), ("*a", "nothing to repeat"),
        ("a{1001}", "above 1000"), ("(x{1000}){1000}", "more than 10000 steps"), ("\\q", "unknown escape"), ("a{3,1}", "backwards"),
        ("[z-a]", "out of order"), ("\\", "trailing backslash"),
    ])
    func unsupportedPatternsAreRefused(pattern: String, reason: String) {
        #expect {
            _ = try LinearRegex(pattern)
        } throws: { error in
            (error as? RegexSyntaxError)?.message.contains(reason) == true
        }
    }

    @Test("A pattern longer than 1,000 characters is refused")
    func longPatternIsRefused() {
        #expect(throws: RegexSyntaxError.self) { _ = try LinearRegex(String(repeating: "a", count: 1001)) }
        #expect(throws: Never.self) { _ = try LinearRegex(String(repeating: "a", count: 1000)) }
    }
}
