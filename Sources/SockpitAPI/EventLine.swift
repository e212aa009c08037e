import FoundationEssentials
import SockpitCore
import SockpitContract
import Synchronization

/// One event as a compact JSON object on one line, for the two outputs that write events one by one — the
/// JSON Lines export and the event stream — built straight from the stored row.
///
/// Why not the generated `Components.Schemas.Event` and JSONEncoder, as the JSON pages do: turning `args` and
/// `result` into the generated free-form containers only to encode them again was most of the export's time
/// (and, for a stream with 100 readers, was done once per reader). Here each `Detail` writes itself. The object has the same members, names and
/// values as the `Event` schema (sorted keys, absent members omitted); tests compare it with the JSON page.
enum EventLine {
    /// `{"args":…,"at":"…",…}` without a trailing newline.
    static func render(_ event: Event) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        var first = true
        func key(_ name: String) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: "\":".utf8)
        }
        func string(_ value: String) { Detail.string(value).render(into: &out) }
        if let args = event.args { key("args"); args.render(into: &out) }
        key("at"); string(RFC3339Transcoder.format(Time.date(micros: event.at)))
        if let bytes = event.bytes { key("bytes"); out.append(contentsOf: String(bytes).utf8) }
        if let micros = event.durationUs { key("duration_ms"); out.append(contentsOf: milliseconds(micros).utf8) }
        if let errno = event.errno { key("errno"); string(errno) }
        if let message = event.errorMessage { key("error_message"); string(message) }
        key("id"); string(String(event.id))
        if let netns = event.netns { key("netns"); string(netns) }
        key("op"); string(event.op)
        key("outcome"); string(event.outcome.rawValue)
        if let probe = event.probeID { key("probe_id"); string(probe) }
        if let result = event.result { key("result"); result.render(into: &out) }
        if let socket = event.socketID { key("socket_id"); string(socket) }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Microseconds as milliseconds with up to three decimals, the way JSONEncoder writes the Double `µs / 1000`.
    static func milliseconds(_ micros: Int64) -> String {
        Detail.double(Double(micros) / 1000).text
    }
}

/// The rendered lines of the newest events, shared by every event stream: a live event is rendered once, not
/// once per reader. Bounded: only the `capacity` newest ids are kept.
final class EventLineCache: Sendable {
    private let lines = Mutex<[Int64: [UInt8]]>([:])
    private let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    /// The line of `event`, rendered on first use.
    func line(for event: Event) -> [UInt8] {
        if let line = lines.withLock({ $0[event.id] }) { return line }
        let line = EventLine.render(event)
        lines.withLock { lines in
            lines[event.id] = line
            if lines.count > capacity * 2 {
                // Drop the older half in one go (amortized): readers far behind render again.
                let keep = lines.keys.sorted().suffix(capacity)
                let floor = keep.first ?? 0
                lines = lines.filter { $0.key >= floor }
            }
        }
        return line
    }
}
