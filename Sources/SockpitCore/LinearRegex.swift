/// A regular expression matched in time linear in the text: the pattern is compiled into a program of at most
/// `maxInstructions` steps (a Thompson NFA) and a text is read once, scalar by scalar, keeping the set of steps
/// it could be at. Whatever the pattern, a reply of n scalars costs at most n × `maxInstructions` steps, so a
/// pattern like `^(a+)+b` cannot pin a core (a backtracking engine takes 2^n steps on it).
///
/// The question it answers is the probe's: does the text contain a match (unanchored, like `contains`)? It
/// reads the text as it arrives (`Scanner`), so a reply read in pieces is not read again from its start.
public struct LinearRegex: Sendable {
    /// The most steps a compiled pattern may take (counted repetitions are expanded): bounds the work per scalar.
    public static let maxInstructions = 10_000
    /// The longest pattern taken, in scalars.
    public static let maxPatternLength = 1_000

    enum Instruction: Sendable {
        /// Consumes one scalar in the set.
        case set(ScalarSet)
        case split(Int, Int)
        case jump(Int)
        case assert(Assertion)
        case match
    }

    enum Assertion: Sendable {
        case start, end, wordBoundary, notWordBoundary
    }

    let program: [Instruction]

    /// Compiles `pattern`; the error names what is not supported or malformed, and where.
    public init(_ pattern: String) throws(RegexSyntaxError) {
        guard pattern.unicodeScalars.count <= Self.maxPatternLength else {
            throw RegexSyntaxError(message: "longer than \(Self.maxPatternLength) characters")
        }
        var parser = RegexParser(pattern)
        var emitter = Emitter()
        try emitter.emit(try parser.parse())
        try emitter.append(.match)
        program = emitter.program
    }

    /// Whether `text` contains a match.
    public func matches(_ text: String) -> Bool {
        var scanner = Scanner(self)
        return scanner.feed(Array(text.utf8)[...])
    }

    /// Reads one text as it arrives: `feed` each piece in order; true once the text so far contains a match.
    /// Bytes are read as UTF-8 (an invalid byte is U+FFFD; a sequence split between pieces is joined).
    public struct Scanner {
        private let program: [Instruction]
        private var threads: [Int] = []
        private var previous: UInt32?
        private var pending: [UInt8] = []
        private var matched = false
        /// Per-step marks of the closure being built, by a generation number (no clearing between scalars).
        private var marks: [Int]
        private var generation = 0

        /// A scanner at the start of a text.
        public init(_ regex: LinearRegex) {
            program = regex.program
            marks = Array(repeating: -1, count: regex.program.count)
        }

        /// Reads the next piece of the text; true once the text so far contains a match.
        public mutating func feed(_ bytes: ArraySlice<UInt8>) -> Bool {
            guard !matched else { return true }
            for scalar in decode(bytes) {
                if step(scalar) {
                    matched = true
                    return true
                }
            }
            // A match that needs the end of the text (`$`, `\b`) holds for the text so far.
            var ignored: [Int] = []
            matched = closure(next: nil, consumers: &ignored)
            return matched
        }

        /// Advances over one scalar; true when a match completed before it.
        private mutating func step(_ scalar: UInt32) -> Bool {
            var consumers: [Int] = []
            if closure(next: scalar, consumers: &consumers) { return true }
            var advanced: [Int] = []
            advanced.reserveCapacity(consumers.count)
            for pc in consumers {
                if case .set(let set) = program[pc], set.contains(scalar) { advanced.append(pc + 1) }
            }
            threads = advanced
            previous = scalar
            return false
        }

        /// Follows every non-consuming step from the current threads (and a fresh start: the search is
        /// unanchored) with `next` as the scalar ahead; collects the consuming steps; true if `match` is reached.
        private mutating func closure(next: UInt32?, consumers: inout [Int]) -> Bool {
            generation += 1
            var stack = [0] + threads.reversed()
            while let pc = stack.popLast() {
                guard marks[pc] != generation else { continue }
                marks[pc] = generation
                switch program[pc] {
                case .set: consumers.append(pc)
                case .split(let first, let second):
                    stack.append(second)
                    stack.append(first)
                case .jump(let target): stack.append(target)
                case .assert(let assertion):
                    if holds(assertion, next: next) { stack.append(pc + 1) }
                case .match: return true
                }
            }
            return false
        }

        private func holds(_ assertion: Assertion, next: UInt32?) -> Bool {
            switch assertion {
            case .start: return previous == nil
            case .end: return next == nil
            case .wordBoundary: return Self.isWord(previous) != Self.isWord(next)
            case .notWordBoundary: return Self.isWord(previous) == Self.isWord(next)
            }
        }

        private static func isWord(_ scalar: UInt32?) -> Bool {
            guard let scalar else { return false }
            return ScalarSet.word.contains(scalar)
        }

        /// The scalars of `bytes` after what was left pending; an incomplete last sequence waits for the next piece.
        private mutating func decode(_ bytes: ArraySlice<UInt8>) -> [UInt32] {
            var input = pending + bytes
            pending = []
            var scalars: [UInt32] = []
            scalars.reserveCapacity(input.count)
            var index = 0
            while index < input.count {
                let lead = input[index]
                let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
                guard length > 0 else {
                    scalars.append(0xFFFD)
                    index += 1
                    continue
                }
                guard index + length <= input.count else {
                    // Incomplete: keep it if what there is could still become a sequence.
                    if input[(index + 1)...].allSatisfy({ $0 & 0xC0 == 0x80 }) {
                        pending = Array(input[index...])
                        break
                    }
                    scalars.append(0xFFFD)
                    index += 1
                    continue
                }
                var scalar = UInt32(length == 1 ? lead : lead & (0xFF >> (length + 1)))
                var valid = true
                for offset in 1..<length {
                    let byte = input[index + offset]
                    guard byte & 0xC0 == 0x80 else { valid = false; break }
                    scalar = scalar << 6 | UInt32(byte & 0x3F)
                }
                let minimum: UInt32 = [0, 0, 0x80, 0x800, 0x10000][length]
                if valid, scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) {
                    scalars.append(scalar)
                    index += length
                } else {
                    scalars.append(0xFFFD)
                    index += 1
                }
            }
            input.removeAll()
            return scalars
        }
    }

    /// Turns a syntax tree into a program, refusing one past `maxInstructions`.
    private struct Emitter {
        var program: [Instruction] = []

        mutating func append(_ instruction: Instruction) throws(RegexSyntaxError) -> Int {
            guard program.count < LinearRegex.maxInstructions else {
                throw RegexSyntaxError(message: "the pattern expands to more than \(LinearRegex.maxInstructions) steps (large repetition counts multiply)")
            }
            program.append(instruction)
            return program.count - 1
        }

        mutating func emit(_ node: RegexNode) throws(RegexSyntaxError) {
            switch node {
            case .empty: break
            case .set(let set): _ = try append(.set(set))
            case .startOfText: _ = try append(.assert(.start))
            case .endOfText: _ = try append(.assert(.end))
            case .wordBoundary(let at): _ = try append(.assert(at ? .wordBoundary : .notWordBoundary))
            case .concat(let items): for item in items { try emit(item) }
            case .alternate(let branches):
                var exits: [Int] = []
                for (offset, branch) in branches.enumerated() {
                    if offset == branches.count - 1 {
                        try emit(branch)
                    } else {
                        let split = try append(.split(0, 0))
                        try emit(branch)
                        exits.append(try append(.jump(0)))
                        program[split] = .split(split + 1, program.count)
                    }
                }
                for exit in exits { program[exit] = .jump(program.count) }
            case .repeated(let inner, let min, let max):
                for _ in 0..<min { try emit(inner) }
                if let max {
                    // Each optional copy may end the repetition: all of them skip to its end.
                    var skips: [Int] = []
                    for _ in min..<max {
                        skips.append(try append(.split(0, 0)))
                        try emit(inner)
                    }
                    for skip in skips { program[skip] = .split(skip + 1, program.count) }
                } else {
                    let loop = try append(.split(0, 0))
                    try emit(inner)
                    _ = try append(.jump(loop))
                    program[loop] = .split(loop + 1, program.count)
                }
            }
        }
    }
}
