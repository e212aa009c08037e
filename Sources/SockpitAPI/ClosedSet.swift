/// A stored value the contract's closed set (`EventOp`, `CloseReason`, `ProbeAttemptState`, ...) does not list:
/// a server bug, answered 500 and logged, never passed to a client whose generated code could not decode it.
struct UnlistedValue: Error, CustomStringConvertible {
    let set: String
    let value: String
    var description: String { "'\(value)' is not a value of the contract's \(set)" }
}

extension RawRepresentable where RawValue == String {
    /// The member of this closed set spelled `value`; throws `UnlistedValue` for any other text.
    init(listed value: String) throws {
        guard let member = Self(rawValue: value) else { throw UnlistedValue(set: "\(Self.self)", value: value) }
        self = member
    }
}
