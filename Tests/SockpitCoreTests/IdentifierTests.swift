import SockpitCore
import Testing

/// `Identifier.make`: ULID-style ids, unique and ordered by creation time.
@Suite struct IdentifierTests {
    /// Crockford base32 as `Identifier` writes it (lowercase, no i, l, o, u).
    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    /// The milliseconds encoded in the first 10 characters after the prefix (48 bits, two leading zeros).
    static func millis(of id: String, prefix: String = "sk_") -> UInt64? {
        var value: UInt64 = 0
        for character in id.dropFirst(prefix.count).prefix(10) {
            guard let digit = alphabet.firstIndex(of: character) else { return nil }
            value = value << 5 | UInt64(digit)
        }
        return value
    }

    /// Wall-clock milliseconds, read the same way the ids are stamped.
    static func nowMillis() -> UInt64 { UInt64(UnixTime.nowMicros() / 1000) }

    /// A thousand ids in a row: all distinct, well formed, 26 base32 digits after the prefix.
    @Test("1000 ids are distinct, prefixed and 26 Crockford base32 characters long")
    func idsAreDistinctAndWellFormed() {
        let ids = (0..<1000).map { _ in Identifier.make(prefix: "sk") }
        #expect(Set(ids).count == 1000)
        for id in ids {
            #expect(id.hasPrefix("sk_"))
            let body = id.dropFirst(3)
            #expect(body.count == 26, "\(id)")
            #expect(body.allSatisfy { Self.alphabet.contains($0) }, "\(id)")
        }
    }

    /// The time part is the creation millisecond, so ids sort by time: made in order, their time parts
    /// never go backwards, and each lies between the clock readings around its creation.
    @Test("the id's leading 48 bits are its creation millisecond, so ids sort by creation time")
    func idsAreTimeSortable() throws {
        let before = Self.nowMillis()
        let ids = (0..<1000).map { _ in Identifier.make(prefix: "sk") }
        let after = Self.nowMillis()
        let stamps = try ids.map { try #require(Self.millis(of: $0)) }
        #expect(stamps == stamps.sorted())
        #expect(stamps.allSatisfy { (before...after).contains($0) }, "stamps \(stamps.first!)…\(stamps.last!) outside \(before)…\(after)")
        // The first digit carries only the top 3 of 130 bits; 48-bit milliseconds leave it 0 for millennia.
        #expect(ids.allSatisfy { $0.dropFirst(3).first == "0" })
    }

    /// Across a millisecond boundary the later id sorts after the earlier one as a whole string.
    @Test("an id made in a later millisecond sorts after an earlier one")
    func laterMillisecondSortsLater() {
        let first = Identifier.make(prefix: "sk")
        let stamp = Self.millis(of: first)!
        // Waits for the clock itself (about a millisecond), not for another thread.
        while Self.nowMillis() <= stamp {}
        let second = Identifier.make(prefix: "sk")
        #expect(first < second)
        #expect(Self.millis(of: second)! > stamp)
    }

    /// The prefix is the caller's.
    @Test("the prefix is used as given")
    func prefixIsUsedAsGiven() {
        #expect(Identifier.make(prefix: "pr").hasPrefix("pr_"))
        #expect(Identifier.make(prefix: "pr").count == 3 + 26)
    }
}
