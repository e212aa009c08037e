/// A recursive-descent parser of the RE2-like syntax `LinearRegex` takes: literals and escapes, `.`, classes
/// (`[a-z]`, `[^…]`, `\d \w \s` and their negations), `^ $ \b \B`, groups `( )` and `(?: )`, `|`, and the
/// quantifiers `* + ? {n} {n,} {n,m}` (a trailing `?` for laziness is accepted: it cannot change whether a reply
/// matches). `(?i)` at the very start makes the pattern ignore ASCII case. Backreferences and lookaround are
/// refused: they are what makes a match take exponential time.
struct RegexParser {
    private let scalars: [UInt32]
    private var index = 0
    private var ignoreCase = false
    private var depth = 0

    static let maxRepeat = 1000
    static let maxDepth = 100

    init(_ pattern: String) {
        scalars = pattern.unicodeScalars.map(\.value)
    }

    mutating func parse() throws(RegexSyntaxError) -> RegexNode {
        if scalars.starts(with: Array("(?i)".unicodeScalars.map(\.value))) {
            ignoreCase = true
            index = 4
        }
        let node = try alternation()
        guard index == scalars.count else {
            throw RegexSyntaxError(message: "unmatched ')' at offset \(index)")
        }
        return node
    }

    private func peek(_ ahead: Int = 0) -> UInt32? {
        index + ahead < scalars.count ? scalars[index + ahead] : nil
    }

    private mutating func alternation() throws(RegexSyntaxError) -> RegexNode {
        var branches = [try concatenation()]
        while peek() == ascii("|") {
            index += 1
            branches.append(try concatenation())
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    private mutating func concatenation() throws(RegexSyntaxError) -> RegexNode {
        var items: [RegexNode] = []
        while let next = peek(), next != ascii("|"), next != ascii(")") {
            items.append(try repetition())
        }
        return items.isEmpty ? .empty : items.count == 1 ? items[0] : .concat(items)
    }

    private mutating func repetition() throws(RegexSyntaxError) -> RegexNode {
        let start = index
        var node = try atom()
        var quantified = false
        while let next = peek() {
            var bounds: (Int, Int?)
            switch next {
            case ascii("*"): bounds = (0, nil); index += 1
            case ascii("+"): bounds = (1, nil); index += 1
            case ascii("?"): bounds = (0, 1); index += 1
            case ascii("{"):
                guard let counted = try countedBounds() else { return node }
                bounds = counted
            default: return node
            }
            guard !quantified else { throw RegexSyntaxError(message: "a second repetition operator at offset \(index - 1)") }
            switch node {
            case .empty, .startOfText, .endOfText, .wordBoundary:
                throw RegexSyntaxError(message: "nothing to repeat at offset \(start)")
            default: break
            }
            quantified = true
            if peek() == ascii("?") { index += 1 }  // lazy: the same verdict for a yes/no match
            node = .repeated(node, min: bounds.0, max: bounds.1)
        }
        return node
    }

    /// `{n}`, `{n,}` or `{n,m}` at `index`; nil (nothing consumed) when the brace is a literal.
    private mutating func countedBounds() throws(RegexSyntaxError) -> (Int, Int?)? {
        var cursor = index + 1
        func number() -> Int? {
            var value: Int?
            while cursor < scalars.count, (0x30...0x39).contains(scalars[cursor]) {
                value = min((value ?? 0) * 10 + Int(scalars[cursor] - 0x30), Self.maxRepeat + 1)
                cursor += 1
            }
            return value
        }
        guard let low = number() else { return nil }
        var high: Int? = low
        if cursor < scalars.count, scalars[cursor] == ascii(",") {
            cursor += 1
            high = number()
        }
        guard cursor < scalars.count, scalars[cursor] == ascii("}") else { return nil }
        guard low <= Self.maxRepeat, (high ?? 0) <= Self.maxRepeat else {
            throw RegexSyntaxError(message: "a repetition count above \(Self.maxRepeat) at offset \(index)")
        }
        if let high, high < low { throw RegexSyntaxError(message: "repetition {\(low),\(high)} runs backwards") }
        index = cursor + 1
        return (low, high)
    }

    private mutating func atom() throws(RegexSyntaxError) -> RegexNode {
        guard let next = peek() else { return .empty }
        index += 1
        switch next {
        case ascii("("):
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else { throw RegexSyntaxError(message: "groups nested deeper than \(Self.maxDepth)") }
            if peek() == ascii("?") {
                guard peek(1) == ascii(":") else {
                    throw RegexSyntaxError(message: "'(?' at offset \(index - 1): only (?:…) groups and a leading (?i) are supported (no lookaround)")
                }
                index += 2
            }
            let inner = try alternation()
            guard peek() == ascii(")") else { throw RegexSyntaxError(message: "missing ')' for the group at offset \(index)") }
            index += 1
            return inner
        case ascii("["): return .set(folded(try characterClass()))
        case ascii("."): return .set(.dot)
        case ascii("^"): return .startOfText
        case ascii("$"): return .endOfText
        case ascii("\\"): return try escape()
        case ascii("*"), ascii("+"), ascii("?"): throw RegexSyntaxError(message: "nothing to repeat at offset \(index - 1)")
        default: return .set(folded(ScalarSet(ranges: [next...next])))
        }
    }

    private mutating func escape() throws(RegexSyntaxError) -> RegexNode {
        guard let next = peek() else { throw RegexSyntaxError(message: "a trailing backslash") }
        switch next {
        case ascii("b"): index += 1; return .wordBoundary(true)
        case ascii("B"): index += 1; return .wordBoundary(false)
        case ascii("A"): index += 1; return .startOfText
        case ascii("z"): index += 1; return .endOfText
        default: return .set(folded(try escapedSet()))
        }
    }

    /// An escape that stands for scalars (after the backslash): `\d`, `\n`, `\x41`, `\.`, ...
    private mutating func escapedSet() throws(RegexSyntaxError) -> ScalarSet {
        guard let next = peek() else { throw RegexSyntaxError(message: "a trailing backslash") }
        index += 1
        switch next {
        case ascii("d"): return .digit
        case ascii("D"): return ScalarSet(ranges: ScalarSet.digit.ranges, negated: true)
        case ascii("w"): return .word
        case ascii("W"): return ScalarSet(ranges: ScalarSet.word.ranges, negated: true)
        case ascii("s"): return .space
        case ascii("S"): return ScalarSet(ranges: ScalarSet.space.ranges, negated: true)
        case ascii("n"): return ScalarSet(ranges: [0x0A...0x0A])
        case ascii("r"): return ScalarSet(ranges: [0x0D...0x0D])
        case ascii("t"): return ScalarSet(ranges: [0x09...0x09])
        case ascii("f"): return ScalarSet(ranges: [0x0C...0x0C])
        case ascii("v"): return ScalarSet(ranges: [0x0B...0x0B])
        case ascii("0"): return ScalarSet(ranges: [0...0])
        case ascii("x"):
            var value: UInt32 = 0
            for _ in 0..<2 {
                guard let digit = peek().flatMap({ Character(Unicode.Scalar($0)!).hexDigitValue }) else {
                    throw RegexSyntaxError(message: "\\x takes two hex digits, at offset \(index)")
                }
                value = value * 16 + UInt32(digit)
                index += 1
            }
            return ScalarSet(ranges: [value...value])
        case ascii("1")...ascii("9"):
            throw RegexSyntaxError(message: "backreferences (\\\(Character(Unicode.Scalar(next)!))) are not supported: they cannot be matched in linear time")
        default:
            let isLetterOrDigit = (0x30...0x39).contains(next) || (0x41...0x5A).contains(next) || (0x61...0x7A).contains(next)
            guard !isLetterOrDigit else {
                throw RegexSyntaxError(message: "unknown escape \\\(Character(Unicode.Scalar(next)!)) at offset \(index - 2)")
            }
            return ScalarSet(ranges: [next...next])
        }
    }

    /// A bracket expression, after its `[`.
    private mutating func characterClass() throws(RegexSyntaxError) -> ScalarSet {
        var set = ScalarSet(ranges: [])
        if peek() == ascii("^") {
            set.negated = true
            index += 1
        }
        var first = true
        while true {
            guard let next = peek() else { throw RegexSyntaxError(message: "missing ']' for the class") }
            if next == ascii("]") && !first {
                index += 1
                return set
            }
            first = false
            let low: UInt32
            if next == ascii("\\") {
                index += 1
                let escaped = try escapedSet()
                guard escaped.ranges.count == 1, !escaped.negated, escaped.ranges[0].count == 1 else {
                    guard !escaped.negated else { throw RegexSyntaxError(message: "a negated class escape inside [...] is not supported") }
                    set.ranges += escaped.ranges
                    continue
                }
                low = escaped.ranges[0].lowerBound
            } else {
                index += 1
                low = next
            }
            if peek() == ascii("-"), let after = peek(1), after != ascii("]") {
                index += 1
                var high = after
                index += 1
                if after == ascii("\\") {
                    let escaped = try escapedSet()
                    guard escaped.ranges.count == 1, escaped.ranges[0].count == 1, !escaped.negated else {
                        throw RegexSyntaxError(message: "a class escape cannot end a range")
                    }
                    high = escaped.ranges[0].lowerBound
                }
                guard low <= high else { throw RegexSyntaxError(message: "range out of order in a class") }
                set.ranges.append(low...high)
            } else {
                set.ranges.append(low...low)
            }
        }
    }

    private func folded(_ set: ScalarSet) -> ScalarSet { ignoreCase ? set.caseFolded() : set }
}

private func ascii(_ character: Unicode.Scalar) -> UInt32 { character.value }
