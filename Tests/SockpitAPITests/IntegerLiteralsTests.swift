import Testing
@testable import SockpitAPI

/// Request bodies carry integers only: fractions and exponents are found (outside strings) and named by key.
@Suite struct IntegerLiteralsTests {
    @Test("Fractions, exponents and integers past 64 bits are reported with their key; integers and numbers inside strings are not",
          arguments: [
              (#"{"timeout_ms": 0.0}"#, "timeout_ms", "0.0"),
              (#"{"max_bytes": 64, "timeout_ms": -1e3}"#, "timeout_ms", "-1e3"),
              (#"{"ports": [22, 80.5]}"#, "ports", "80.5"),
              (#"{"options": {"so_rcvbuf": 1E2}}"#, "so_rcvbuf", "1E2"),
              (#"{"timeout_ms": 9223372036854775808}"#, "timeout_ms", "9223372036854775808"),
              (#"{"max_bytes": -9223372036854775809}"#, "max_bytes", "-9223372036854775809"),
          ])
    func nonIntegersAreFound(body: String, key: String, literal: String) {
        let found = IntegerLiterals.firstNonInteger(in: Array(body.utf8))
        #expect(found?.key == key && found?.literal == literal)
    }

    @Test("Integer-only bodies pass", arguments: [
        #"{"family": "inet", "type": "stream", "label": "rate 1.5 \"e3\" 2e4"}"#,
        #"{"max_bytes": 65536, "timeout_ms": 0, "ports": [-1, 22, 443]}"#,
        #"{"max_bytes": 9223372036854775807, "timeout_ms": -9223372036854775808}"#,
        #"{"data": "3.14", "encoding": "utf8", "to": {"host": "127.0.0.1", "port": 9}}"#,
        "",
    ])
    func integersPass(body: String) {
        #expect(IntegerLiterals.firstNonInteger(in: Array(body.utf8)) == nil)
    }
}
