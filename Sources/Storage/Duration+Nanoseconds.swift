extension Duration {
    /// Whole nanoseconds (for Dispatch deadlines and atomic counters).
    var wholeNanoseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    }
}
