public import Storage

extension EventRecord {
    /// The payload bytes this event moved, by direction: a send's are sent, a receive's received, anything
    /// else's none. The one rule behind the byte totals of stats and metrics.
    public var payload: (sent: Int64, received: Int64) {
        let bytes = max(0, self.bytes ?? 0)
        switch op {
        case "send": return (bytes, 0)
        case "receive": return (0, bytes)
        default: return (0, 0)
        }
    }
}
