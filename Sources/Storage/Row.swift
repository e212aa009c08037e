/// One result row, copied out of SQLite so it outlives the statement and can cross tasks.
///
/// Column names are shared by all rows of a result (copy-on-write), so a row costs its values only.
public struct Row: Sendable, Equatable {
    /// Column names in result order, as SQLite reports them (`AS` aliases included).
    public let columns: [String]
    /// Values in the same order as `columns`.
    public let values: [SQLValue]

    /// Creates a row; `columns` and `values` must have the same length.
    public init(columns: [String], values: [SQLValue]) {
        precondition(columns.count == values.count, "Row: \(columns.count) columns but \(values.count) values")
        self.columns = columns
        self.values = values
    }

    /// The value at `index` (0-based); traps when out of range, like an array.
    public subscript(index: Int) -> SQLValue { values[index] }

    /// The value of the column named `name`.
    ///
    /// Traps when no such column exists: a misspelt column is a programming error that tests must catch,
    /// not a NULL to be silently stored. Use `value(named:)` when the column is optional.
    public subscript(name: String) -> SQLValue {
        guard let value = value(named: name) else {
            preconditionFailure("Row has no column '\(name)'; columns: \(columns)")
        }
        return value
    }

    /// The value of the column named `name`, or `nil` if the row has no such column.
    ///
    /// An exact match wins; otherwise the first case-insensitive match, as SQLite compares identifiers.
    public func value(named name: String) -> SQLValue? {
        if let index = columns.firstIndex(of: name) { return values[index] }
        let lowered = name.lowercased()
        return columns.firstIndex { $0.lowercased() == lowered }.map { values[$0] }
    }
}

extension Row: CustomStringConvertible {
    /// `name=value` pairs, for logs and test failures.
    public var description: String {
        "[" + zip(columns, values).map { "\($0)=\($1)" }.joined(separator: ", ") + "]"
    }
}
