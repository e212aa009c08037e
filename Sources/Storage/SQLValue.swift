/// One SQLite value: the five storage classes SQLite knows, and nothing else.
///
/// Values travel to SQLite only as bound parameters (STYLE.md rule 11), never spliced into SQL text.
/// Booleans and dates are not storage classes: store them as `.integer` (0/1, unix microseconds).
public enum SQLValue: Sendable, Equatable, Hashable {
    /// SQL `NULL`.
    case null
    /// A signed 64-bit integer (`SQLITE_INTEGER`).
    case integer(Int64)
    /// An IEEE 754 double (`SQLITE_FLOAT`).
    case real(Double)
    /// UTF-8 text (`SQLITE_TEXT`); embedded NUL characters survive.
    case text(String)
    /// Raw bytes (`SQLITE_BLOB`); an empty array stays an empty blob, distinct from `.null`.
    case blob([UInt8])
}

// MARK: - Accessors

extension SQLValue {
    /// Whether this is SQL `NULL`.
    public var isNull: Bool { self == .null }

    /// The integer, or `nil` for every other case (no lossy conversion from text or real).
    public var int: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The real, widening an integer: a column without REAL affinity may hand back whole numbers as integers.
    public var double: Double? {
        switch self {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }

    /// The text, or `nil` for every other case.
    public var string: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// The blob's bytes, or `nil` for every other case.
    public var bytes: [UInt8]? {
        if case .blob(let value) = self { return value }
        return nil
    }

    /// The integer read as a boolean (non-zero is `true`), the way SQLite itself treats truth values.
    public var bool: Bool? { int.map { $0 != 0 } }

    /// The structured value a text column holds; text that is not JSON (never written by the history) is
    /// kept as a string rather than lost; nil for NULL and non-text values.
    public var detail: Detail? {
        guard case .text(let text) = self else { return nil }
        return Detail(parsing: text) ?? .string(text)
    }
}

// MARK: - Optionals in, NULL out

extension SQLValue {
    /// `.integer`, or `.null` when `value` is `nil`; saves `?? .null` at every nullable column.
    public init(_ value: Int64?) { self = value.map(SQLValue.integer) ?? .null }

    /// `.integer`, or `.null` when `value` is `nil`.
    public init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }

    /// `.real`, or `.null` when `value` is `nil`.
    public init(_ value: Double?) { self = value.map(SQLValue.real) ?? .null }

    /// `.text`, or `.null` when `value` is `nil`.
    public init(_ value: String?) { self = value.map(SQLValue.text) ?? .null }

    /// A structured value as its column text (compact JSON), NULL for nil.
    public init(_ value: Detail?) { self = value.map { .text($0.text) } ?? .null }

    /// `.blob`, or `.null` when `value` is `nil`.
    public init(_ value: [UInt8]?) { self = value.map(SQLValue.blob) ?? .null }

    /// `.integer(1)` or `.integer(0)`, or `.null` when `value` is `nil`.
    public init(_ value: Bool?) { self = value.map { .integer($0 ? 1 : 0) } ?? .null }
}

// MARK: - Literals

/// `nil` in a bindings array means SQL `NULL`.
extension SQLValue: ExpressibleByNilLiteral {
    /// Creates `.null`.
    public init(nilLiteral: ()) { self = .null }
}

/// Integer literals bind as `.integer`.
extension SQLValue: ExpressibleByIntegerLiteral {
    /// Creates `.integer`.
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

/// Floating-point literals bind as `.real`.
extension SQLValue: ExpressibleByFloatLiteral {
    /// Creates `.real`.
    public init(floatLiteral value: Double) { self = .real(value) }
}

/// String literals bind as `.text`.
extension SQLValue: ExpressibleByStringLiteral {
    /// Creates `.text`.
    public init(stringLiteral value: String) { self = .text(value) }
}

/// Boolean literals bind as `.integer(0 | 1)`, SQLite's own truth values.
extension SQLValue: ExpressibleByBooleanLiteral {
    /// Creates `.integer(1)` for `true`, `.integer(0)` for `false`.
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }
}

// MARK: - Description

extension SQLValue: CustomStringConvertible {
    /// SQL-literal-like rendering for logs and test failures; blobs show their size, not their bytes.
    public var description: String {
        switch self {
        case .null: return "NULL"
        case .integer(let value): return String(value)
        case .real(let value): return String(value)
        case .text(let value):
            // Doubling quotes by hand keeps Storage free of Foundation.
            var quoted = "'"
            for character in value { quoted += character == "'" ? "''" : String(character) }
            return quoted + "'"
        case .blob(let value): return "<blob \(value.count) bytes>"
        }
    }
}
