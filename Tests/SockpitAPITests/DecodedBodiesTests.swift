import Foundation
@testable import SockpitAPI
import Testing

/// The direct routes' table of recently decoded request bodies: the same value as a fresh decoding, bad bodies
/// never kept, and bounded.
@Suite struct DecodedBodiesTests {
    typealias Receive = Components.Schemas.ReceiveRequest

    @Test("An identical body gives the value JSONDecoder gives, from the table the second time")
    func identicalBodiesReuseTheirValue() throws {
        let bodies = DecodedBodies<Receive>()
        let bytes = Array(#"{"max_bytes":64,"timeout_ms":1000,"peek":true}"#.utf8)
        let expected = try JSONDecoder().decode(Receive.self, from: Data(bytes))
        #expect(bodies.body(bytes) == expected)
        #expect(bodies.count == 1)
        #expect(bodies.body(bytes) == expected)
        #expect(bodies.count == 1)
        let other = Array(#"{"max_bytes":65}"#.utf8)
        #expect(bodies.body(other)?.maxBytes == 65)
        #expect(bodies.count == 2)
    }

    @Test("Bodies the generated server must answer are refused every time and never kept")
    func badBodiesAreNotKept() {
        let bodies = DecodedBodies<Receive>()
        for text in [#"{"max_bytes":1.5}"#, #"{"max_bytes":"#, #"{"bogus":1}"#, #"{"max_bytes":"64"}"#, ""] {
            #expect(bodies.body(Array(text.utf8)) == nil, "\(text)")
            #expect(bodies.body(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(bodies.count == 0)
    }

    @Test("At most 256 bodies of at most 512 bytes are kept")
    func theTableIsBounded() {
        let bodies = DecodedBodies<Receive>()
        for n in 0..<600 { #expect(bodies.body(Array(#"{"max_bytes":\#(n)}"#.utf8))?.maxBytes == n) }
        #expect(bodies.count <= 256 && bodies.count > 0)
        let long = Array((#"{"max_bytes":7,"encoding":"utf8""# + String(repeating: " ", count: 600) + "}").utf8)
        let before = bodies.count
        #expect(bodies.body(long)?.maxBytes == 7)
        #expect(bodies.count == before, "a long body is decoded, not kept")
    }
}
