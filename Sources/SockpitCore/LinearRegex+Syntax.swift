/// The syntax tree of a pattern, before it is compiled into `LinearRegex`'s program.
indirect enum RegexNode: Equatable {
    case empty
    case set(ScalarSet)
    case startOfText
    case endOfText
    case wordBoundary(Bool)
    case concat([RegexNode])
    case alternate([RegexNode])
    /// `min` to `max` (nil: unbounded) repetitions.
    case repeated(RegexNode, min: Int, max: Int?)
}

/// A set of Unicode scalars: ranges, possibly negated.
struct ScalarSet: Equatable {
    var ranges: [ClosedRange<UInt32>]
    var negated = false

    func contains(_ scalar: UInt32) -> Bool {
        var inside = false
        for range in ranges where range.contains(scalar) {
            inside = true
            break
        }
        return inside != negated
    }

    static let digit = ScalarSet(ranges: [0x30...0x39])
    static let word = ScalarSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    static let space = ScalarSet(ranges: [0x09...0x0D, 0x20...0x20])
    /// `.`: anything but a newline.
    static let dot = ScalarSet(ranges: [0x0A...0x0A], negated: true)

    /// The set with the other case of every ASCII letter it names added (for `(?i)`).
    func caseFolded() -> ScalarSet {
        var ranges = self.ranges
        for range in self.ranges {
            for (letters, other) in [(UInt32(0x41)...0x5A, Int64(0x20)), (UInt32(0x61)...0x7A, Int64(-0x20))] {
                let low = max(range.lowerBound, letters.lowerBound), high = min(range.upperBound, letters.upperBound)
                if low <= high { ranges.append(UInt32(Int64(low) + other)...UInt32(Int64(high) + other)) }
            }
        }
        return ScalarSet(ranges: ranges, negated: negated)
    }
}

/// Why a pattern is refused, said for the API's problem detail.
public struct RegexSyntaxError: Error {
    /// What is malformed or not supported, and where.
    public let message: String
}
